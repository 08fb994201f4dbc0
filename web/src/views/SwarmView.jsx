import { collection, doc, limit, orderBy, query } from 'firebase/firestore';
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { routes } from '../api.js';
import { useKillSwitch } from '../components/KillSwitch.jsx';
import { Badge, Button, Dialog, ErrorNote, Loading, Meter, useAction } from '../components/ui.jsx';
import { can, count, plainText, sortAgents, SWARM_STATUS, swarmActions, swarmSummary, TERMINAL_SWARM, usd } from '../logic/index.js';
import { useLiveDoc, useLiveQuery, useSession } from '../live.js';
import { href, SWARM_TABS } from '../router.js';
import { Activity } from './Activity.jsx';
import { Approvals } from './Approvals.jsx';
import { Costs } from './Costs.jsx';
import { Messages } from './Messages.jsx';
import { Overview } from './Overview.jsx';
import { TaskBoard } from './TaskBoard.jsx';
import { Timeline } from './Timeline.jsx';

export const MESSAGE_LIMIT = 300;
export const EVENT_LIMIT = 300;
export const ARTIFACT_LIMIT = 500;
// The workspace's renderers (Markdown, highlighting, diff) load when the tab is first opened.
const Workspace = lazy(() => import('./Workspace.jsx'));
export const TURN_LIMIT = 1000; // the newest turns the timeline and the cost chart draw
const RECENT_EVENTS = 8;

const TAB_LABELS = {
  overview: 'Agents',
  tasks: 'Tasks',
  messages: 'Messages',
  activity: 'Activity',
  timeline: 'Timeline',
  workspace: 'Workspace',
  costs: 'Costs',
  approvals: 'Approvals',
};

// What each tab cannot show without. The rest is subscribed as soon as the first view is in,
// so the first view waits for no more than it shows (the emulator serves documents one by
// one, and a board of hundreds of tasks would hold up the graph) and later tabs open at once.
const NEEDS = {
  overview: ['messages', 'recentEvents'],
  tasks: ['tasks'],
  messages: ['messages'],
  activity: ['events'],
  timeline: ['turns', 'messages', 'events'],
  workspace: ['artifacts'],
  costs: [],
  approvals: [],
};

/** Every live read of one swarm, subscribed once per swarm, first what the tab shows. */
function useSwarmData(sid, tab) {
  const needs = NEEDS[tab];
  const [rest, setRest] = useState(false);
  const on = (name) => rest || needs.includes(name);
  const swarm = useLiveDoc((db) => doc(db, 'swarms', sid), ['swarm', sid]);
  const agents = useLiveQuery((db) => collection(db, 'swarms', sid, 'agents'), ['agents', sid]);
  const approvals = useLiveQuery(
    (db) => query(collection(db, 'swarms', sid, 'approvals'), orderBy('created_at', 'desc'), limit(100)),
    ['approvals', sid],
  );
  const tasks = useLiveQuery((db) => (on('tasks') ? collection(db, 'swarms', sid, 'tasks') : null), ['tasks', sid, on('tasks')]);
  const messages = useLiveQuery(
    (db) => (on('messages') ? query(collection(db, 'swarms', sid, 'messages'), orderBy('created_at', 'desc'), limit(MESSAGE_LIMIT)) : null),
    ['messages', sid, on('messages')],
  );
  const events = useLiveQuery(
    (db) => (on('events') ? query(collection(db, 'swarms', sid, 'events'), orderBy('at', 'desc'), limit(EVENT_LIMIT)) : null),
    ['events', sid, on('events')],
  );
  const recentEvents = useLiveQuery(
    (db) => (needs.includes('recentEvents') && !events.docs ? query(collection(db, 'swarms', sid, 'events'), orderBy('at', 'desc'), limit(RECENT_EVENTS)) : null),
    ['recent-events', sid, needs.includes('recentEvents') && !events.docs],
  );
  const { role } = useSession();
  // Turn records only once a tab that draws them opens (then kept): not with the rest, where
  // hundreds of them would hold up the task board's first snapshot.
  const keepTurns = useRef(false);
  keepTurns.current ||= tab === 'timeline' || tab === 'costs';
  const turns = useLiveQuery(
    (db) => (keepTurns.current ? query(collection(db, 'swarms', sid, 'turns'), orderBy('started_at', 'desc'), limit(TURN_LIMIT)) : null),
    ['turns', sid, keepTurns.current],
  );
  // The kill switch is global: its audit (readable by operators and admins) gives its bands.
  const audit = useLiveQuery(
    (db) => (tab === 'timeline' && can.readAudit(role) ? query(collection(db, 'control', 'kill_switch', 'audit'), orderBy('at', 'desc'), limit(100)) : null),
    ['audit', tab === 'timeline' && can.readAudit(role)],
  );
  const artifacts = useLiveQuery(
    (db) => (on('artifacts') ? query(collection(db, 'swarms', sid, 'artifacts'), orderBy('path'), limit(ARTIFACT_LIMIT)) : null),
    ['artifacts', sid, on('artifacts')],
  );
  const sortedAgents = useMemo(() => (agents.docs ? sortAgents(agents.docs) : null), [agents.docs]);
  const data = {
    swarm: swarm.doc,
    agents: sortedAgents,
    tasks: tasks.docs,
    messages: messages.docs,
    events: events.docs,
    recentEvents: events.docs ?? recentEvents.docs,
    approvals: approvals.docs,
    turns: turns.docs,
    audit: audit.docs ?? [],
    artifacts: artifacts.docs,
  };
  const ready = swarm.doc !== undefined && Boolean(agents.docs && approvals.docs) && needs.every((n) => data[n]);
  const complete = ready && Boolean(tasks.docs && messages.docs && events.docs);
  useEffect(() => {
    if (!ready) return;
    setRest(true);
    // The first view is on screen after this frame: a mark for the browser test's timing.
    requestAnimationFrame(() => performance.mark(`swarm-first-view:${sid}`));
  }, [ready, sid]);
  useEffect(() => {
    if (complete) requestAnimationFrame(() => performance.mark(`swarm-complete:${sid}`));
  }, [complete, sid]);
  const error = swarm.error || agents.error || tasks.error || messages.error || events.error || approvals.error || recentEvents.error || artifacts.error || turns.error;
  return { ...data, ready, complete, error };
}

export function SwarmView({ sid, tab }) {
  const data = useSwarmData(sid, tab);
  const { engaged } = useKillSwitch();
  if (data.swarm === null && !data.error) {
    return <ErrorNote>There is no swarm {sid}. <a href={href.swarms()} className="underline">Back to all swarms</a>.</ErrorNote>;
  }
  if (data.swarm === undefined) return <Loading what="Loading the swarm" />;
  const sw = data.swarm;
  const pending = (data.approvals ?? []).filter((a) => a.status === 'pending').length;
  return (
    <div className="space-y-4" data-testid="swarm-view" data-ready={data.ready ? 'true' : 'false'} data-complete={data.complete ? 'true' : 'false'}>
      <SwarmHeader swarm={sw} agents={data.agents} killEngaged={engaged} />
      <ErrorNote error={data.error} />
      <nav aria-label="Swarm views" className="-mx-3 overflow-x-auto px-3">
        <ul className="flex min-w-max gap-1 border-b border-slate-300">
          {SWARM_TABS.map((t) => (
            <li key={t}>
              <a
                href={href.swarm(sid, t)}
                aria-current={t === tab ? 'page' : undefined}
                className={`block border-b-2 px-3 py-2 text-sm font-medium ${t === tab ? 'border-slate-900 text-slate-900' : 'border-transparent text-slate-700 hover:text-slate-900'}`}
              >
                {TAB_LABELS[t]}
                {t === 'approvals' && pending > 0 && (
                  <span className="ml-1 rounded-full bg-violet-200 px-1.5 text-xs text-violet-950">{pending}</span>
                )}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {!data.ready ? (
        <Loading what="Loading live state" />
      ) : (
        <section aria-label={TAB_LABELS[tab]}>
          {tab === 'overview' && <Overview sid={sid} agents={data.agents} messages={data.messages} events={data.recentEvents} tasks={data.tasks} />}
          {tab === 'tasks' && <TaskBoard tasks={data.tasks} agents={data.agents} sid={sid} />}
          {tab === 'messages' && <Messages sid={sid} messages={data.messages} agents={data.agents} />}
          {tab === 'activity' && <Activity events={data.events} />}
          {tab === 'timeline' && <Timeline sid={sid} agents={data.agents} turns={data.turns} messages={data.messages} events={data.events} audit={data.audit} />}
          {tab === 'workspace' && (
            <Suspense fallback={<Loading what="Loading the workspace" />}>
              <Workspace sid={sid} artifacts={data.artifacts} />
            </Suspense>
          )}
          {tab === 'costs' && <Costs sid={sid} swarm={sw} agents={data.agents} turns={data.turns} />}
          {tab === 'approvals' && <Approvals sid={sid} approvals={data.approvals} />}
        </section>
      )}
    </div>
  );
}

// What the swarm's agents may reach: server tools, and each MCP server's policy per tool.
function ToolPolicy({ tools }) {
  if (!tools) return null;
  const servers = Array.isArray(tools.mcp) ? tools.mcp : [];
  const server = Object.keys(tools).filter((k) => k !== 'mcp');
  return (
    <div className="mt-2 text-xs text-slate-700" data-testid="tool-policy">
      {server.length > 0 && <p>Server tools: {plainText(server.join(', '))}</p>}
      {servers.map((s) => (
        <p key={s.name} className="break-words">
          MCP server <strong>{s.name}</strong> ({s.url}):{' '}
          {plainText(
            Object.entries(s.policy ?? {})
              .map(([tool, level]) => `${tool} ${level}`)
              .join(' · '),
          )}
        </p>
      ))}
    </div>
  );
}

function SwarmHeader({ swarm, agents, killEngaged }) {
  const sum = swarmSummary(swarm, agents);
  const halted = killEngaged && !TERMINAL_SWARM.has(swarm.status);
  return (
    <header className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0 flex-1">
          <p className="text-xs text-slate-600">
            <a href={href.swarms()} className="underline-offset-2 hover:underline">Swarms</a> / {swarm.id}
          </p>
          <h1 className="mt-1 text-xl font-semibold break-words">{swarm.goal}</h1>
          <div className="mt-2 flex flex-wrap items-center gap-2 text-sm">
            <span data-testid="swarm-status" data-status={swarm.status}>
              <Badge table={SWARM_STATUS} status={swarm.status} />
            </span>
            {halted && (
              <span className="rounded-full bg-red-600 px-2 py-0.5 text-xs font-semibold text-white" data-testid="swarm-halted">
                Halted by the kill switch
              </span>
            )}
            {swarm.status_reason && <span className="text-slate-700">{swarm.status_reason}</span>}
          </div>
          {swarm.summary && (
            <p className="mt-2 rounded-md bg-sky-50 px-3 py-2 text-sm text-sky-950">
              <strong>Outcome:</strong> {swarm.summary}
            </p>
          )}
          <ToolPolicy tools={swarm.tools} />
        </div>
        <SwarmActions swarm={swarm} />
      </div>
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <Meter label="Tasks done" value={sum.taskFraction} text={`${sum.tasksDone} of ${sum.taskTotal}`} kind="progress" />
        <Meter
          label="Spend"
          value={sum.spendFraction}
          text={sum.budgetUsd != null ? `${usd(sum.spentUsd)} of ${usd(sum.budgetUsd)}` : `${usd(sum.spentUsd)} (no USD cap)`}
        />
        <Meter
          label="Tokens"
          value={sum.tokenFraction}
          text={sum.budgetTokens != null ? `${count(sum.tokens)} of ${count(sum.budgetTokens)}` : count(sum.tokens)}
        />
        <div className="text-xs text-slate-700">
          <div className="flex justify-between">
            <span>Agents</span>
            <span className="font-medium text-slate-900" data-testid="agent-count">{sum.agentCount}</span>
          </div>
          <div className="mt-1 text-slate-600">
            {Object.entries(sum.agentsByStatus)
              .map(([s, n]) => `${n} ${s.replace('_', ' ')}`)
              .join(' · ')}
          </div>
        </div>
      </div>
    </header>
  );
}

const ACTION_TEXT = {
  pause: ['Pause', 'Swarm paused: agents finish their current step and wait.'],
  resume: ['Resume', 'Swarm resumed.'],
  stop: ['Stop', 'Swarm stopped.'],
};

function SwarmActions({ swarm }) {
  const { session, role } = useSession();
  const [busy, run] = useAction();
  const [confirmStop, setConfirmStop] = useState(false);
  if (!can.steer(role)) return null;
  const actions = swarmActions(swarm.status);
  if (!actions.length) return null;
  const act = (a) => run(() => session.api.post(routes.swarmAction(swarm.id, a), {}), ACTION_TEXT[a][1]);
  return (
    <div className="flex gap-2">
      {actions.map((a) => (
        <Button key={a} variant={a === 'stop' ? 'danger' : 'secondary'} disabled={busy} onClick={() => (a === 'stop' ? setConfirmStop(true) : act(a))}>
          {ACTION_TEXT[a][0]}
        </Button>
      ))}
      {confirmStop && (
        <Dialog title="Stop this swarm?" onClose={() => setConfirmStop(false)}>
          <p className="text-sm text-slate-700">Every agent of this swarm stops for good. A stopped swarm cannot be resumed.</p>
          <div className="mt-4 flex justify-end gap-2">
            <Button onClick={() => setConfirmStop(false)}>Cancel</Button>
            <Button
              variant="danger"
              disabled={busy}
              onClick={async () => {
                await act('stop');
                setConfirmStop(false);
              }}
            >
              Stop the swarm
            </Button>
          </div>
        </Dialog>
      )}
    </div>
  );
}
