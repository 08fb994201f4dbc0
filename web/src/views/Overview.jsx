import { useMemo } from 'react';
import { Badge, Empty } from '../components/ui.jsx';
import { AGENT_FILL, AGENT_STATUS, agentCost, clock, count, edgePath, layoutAgents, messageEdges, truncate, usd } from '../logic/index.js';
import { useNow } from '../live.js';
import { href } from '../router.js';
import { Activity } from './Activity.jsx';

const W = 720;
const H = 440;

export function Overview({ sid, agents, messages, events, tasks }) {
  const now = useNow(2000);
  const working = useMemo(() => {
    const out = {};
    for (const t of tasks ?? []) if (t.status === 'in_progress' && t.owner) (out[t.owner] ??= []).push(t);
    return out;
  }, [tasks]);
  if (!agents.length) return <Empty>No agent yet.</Empty>;
  return (
    <div className="grid grid-cols-1 gap-4 xl:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]">
      <AgentGraph sid={sid} agents={agents} messages={messages} now={now} />
      <div className="space-y-4">
        <AgentList sid={sid} agents={agents} working={working} />
        <div className="rounded-lg border border-slate-200 bg-white p-3">
          <h2 className="mb-2 text-sm font-semibold">Latest activity</h2>
          <Activity events={events.slice(0, 8)} compact />
        </div>
      </div>
    </div>
  );
}

export function AgentGraph({ sid, agents, messages, now }) {
  const pos = useMemo(() => layoutAgents(agents, { width: W, height: H }), [agents]);
  const ids = useMemo(() => agents.map((a) => a.id), [agents]);
  const { edges, fromOutside } = useMemo(() => messageEdges(messages, ids, now), [messages, ids, now]);
  const recent = edges.filter((e) => e.recent);
  // Smaller nodes once the ring gets crowded, so labels do not run into each other.
  const small = agents.length > 12;
  const radius = (a) => (a.role === 'lead' ? (small ? 22 : 26) : small ? 15 : 20);
  return (
    <figure className="self-start rounded-lg border border-slate-200 bg-white p-3">
      <figcaption className="flex flex-wrap items-baseline justify-between gap-2 text-sm">
        <span className="font-semibold">Who messages whom</span>
        <span className="text-xs text-slate-600">Arrows: messages sent (thicker: more); moving arrows: the last 15 s. Select an agent for its transcript.</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} className="mt-2 h-auto w-full" role="group" aria-label={`Agent graph: ${agents.length} agents, ${edges.length} message links`} data-testid="agent-graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" fill="#475569" />
          </marker>
          <marker id="arrow-recent" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" fill="#0369a1" />
          </marker>
        </defs>
        {edges.map((e) =>
          pos[e.from] && pos[e.to] ? (
            <path
              key={e.id}
              d={edgePath(pos[e.from], pos[e.to], small ? 17 : 22)}
              fill="none"
              stroke={e.recent ? '#0369a1' : '#94a3b8'}
              strokeOpacity={e.recent ? 1 : 0.6}
              strokeWidth={Math.min(1 + Math.log2(e.count + 1), 5)}
              markerEnd={e.recent ? 'url(#arrow-recent)' : 'url(#arrow)'}
              className={e.recent ? 'edge-recent' : ''}
              data-testid="edge"
              data-recent={e.recent}
            >
              <title>{`${e.from} → ${e.to}: ${e.count} message${e.count === 1 ? '' : 's'}, last at ${clock(e.last)}`}</title>
            </path>
          ) : null,
        )}
        {agents.map((a) => {
          const p = pos[a.id];
          const lead = a.role === 'lead';
          const r = radius(a);
          return (
            <a key={a.id} href={href.agent(sid, a.id)} aria-label={`${a.id}, ${AGENT_STATUS[a.status]?.label ?? a.status}: ${a.activity ?? ''}`} data-testid="graph-node" data-agent={a.id} data-status={a.status}>
              <circle
                cx={p.x}
                cy={p.y}
                r={r}
                fill={AGENT_FILL[a.status] ?? '#e2e8f0'}
                stroke={a.status === 'running' ? '#047857' : '#334155'}
                strokeWidth={a.status === 'running' ? 3 : 1.5}
                className={a.status === 'running' ? 'node-running' : ''}
              />
              {a.status === 'failed' && (
                <text x={p.x} y={p.y + 5} textAnchor="middle" fontSize="16" fontWeight="700" fill="#7f1d1d" aria-hidden="true">
                  !
                </text>
              )}
              {a.status === 'waiting_approval' && (
                <text x={p.x} y={p.y + 5} textAnchor="middle" fontSize="15" fontWeight="700" fill="#4c1d95" aria-hidden="true">
                  ?
                </text>
              )}
              {fromOutside[a.id] > 0 && (
                <circle cx={p.x + r - 4} cy={p.y - r + 4} r={5} fill="#f59e0b" stroke="#78350f">
                  <title>{`${fromOutside[a.id]} message(s) from humans or the system`}</title>
                </circle>
              )}
              <text x={p.x} y={p.y + r + 13} textAnchor="middle" fontSize={small ? 12 : 13} fontWeight={lead ? 700 : 500} fill="#0f172a">
                {truncate(a.name ?? a.id, 18)}
              </text>
              <text x={p.x} y={p.y + r + 26} textAnchor="middle" fontSize="11" fill="#475569">
                {truncate(a.activity ?? a.status, small ? 20 : 26)}
              </text>
            </a>
          );
        })}
      </svg>
      <div aria-live="polite" className="sr-only">
        {recent.length ? `Recent messages: ${recent.map((e) => `${e.from} to ${e.to}`).join(', ')}` : ''}
      </div>
      <ul className="mt-2 flex flex-wrap gap-3 text-xs text-slate-700" aria-label="Legend">
        {Object.entries(AGENT_FILL).map(([s, fill]) => (
          <li key={s} className="flex items-center gap-1">
            <svg width="12" height="12" aria-hidden="true">
              <circle cx="6" cy="6" r="5" fill={fill} stroke="#334155" />
            </svg>
            {AGENT_STATUS[s].label}
          </li>
        ))}
      </ul>
    </figure>
  );
}

function AgentList({ sid, agents, working }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white">
      <h2 className="border-b border-slate-200 px-3 py-2 text-sm font-semibold">What each agent is doing</h2>
      <ul className="max-h-[28rem] divide-y divide-slate-100 overflow-y-auto" data-testid="agent-list">
        {agents.map((a) => (
          <li key={a.id} className="px-3 py-2 text-sm" data-testid="agent-row" data-agent={a.id} data-status={a.status}>
            <div className="flex flex-wrap items-center justify-between gap-2">
              <a href={href.agent(sid, a.id)} className="font-medium text-sky-800 underline-offset-2 hover:underline">
                {a.name ?? a.id}
              </a>
              <Badge table={AGENT_STATUS} status={a.status} />
            </div>
            <div className="text-xs text-slate-700">
              {a.role === 'lead' ? 'lead' : a.role_description || 'teammate'} · {a.model}
            </div>
            <div className="mt-0.5 text-slate-800">{truncate(a.activity, 120)}</div>
            {(working[a.id] ?? []).map((t) => (
              <div key={t.id} className="text-xs text-amber-900">
                working on {t.id}: {truncate(t.title, 60)}
              </div>
            ))}
            {a.last_error && <div className="text-xs text-red-800">Error: {truncate(a.last_error, 160)}</div>}
            <div className="text-xs text-slate-600 tabular-nums">
              {usd(agentCost(a))} · {count((a.usage?.input_tokens ?? 0) + (a.usage?.output_tokens ?? 0))} tokens · {a.turns ?? 0} turns
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}
