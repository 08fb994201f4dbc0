// Hash routes, so the static server needs no rewrites: #/, #/swarms/:sid[/:tab],
// #/swarms/:sid/agents/:aid[/:tab][?turn=ID&call=SEQ] (the transcript at one call), #/approvals.
import { useSyncExternalStore } from 'react';

export const SWARM_TABS = ['overview', 'tasks', 'messages', 'activity', 'timeline', 'workspace', 'costs', 'approvals'];
export const AGENT_TABS = ['transcript', 'inbox', 'sent'];

export function parseRoute(hash) {
  const parts = String(hash ?? '')
    .replace(/^#\/?/, '')
    .split('?')[0]
    .split('/')
    .filter(Boolean)
    .map(decodeURIComponent);
  if (parts[0] === 'approvals') return { name: 'approvals' };
  if (parts[0] === 'swarms' && parts[1]) {
    if (parts[2] === 'agents' && parts[3]) {
      const tab = AGENT_TABS.includes(parts[4]) ? parts[4] : 'transcript';
      const q = new URLSearchParams(String(hash ?? '').split('?')[1] ?? '');
      const route = { name: 'agent', sid: parts[1], aid: parts[3], tab };
      if (q.get('turn')) route.focus = { turn: q.get('turn'), call: q.get('call') ? Number(q.get('call')) : null };
      return route;
    }
    const tab = SWARM_TABS.includes(parts[2]) ? parts[2] : 'overview';
    return { name: 'swarm', sid: parts[1], tab };
  }
  return { name: 'swarms' };
}

const enc = encodeURIComponent;
export const href = {
  swarms: () => '#/',
  swarm: (sid, tab) => `#/swarms/${enc(sid)}${tab && tab !== 'overview' ? `/${tab}` : ''}`,
  agent: (sid, aid, tab) =>
    `#/swarms/${enc(sid)}/agents/${enc(aid)}${tab && tab !== 'transcript' ? `/${tab}` : ''}`,
  approvals: () => '#/approvals',
};

function subscribe(cb) {
  window.addEventListener('hashchange', cb);
  return () => window.removeEventListener('hashchange', cb);
}

export function useRoute() {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parseRoute(hash);
}

export function navigate(to) {
  window.location.hash = to.replace(/^#/, '');
}
