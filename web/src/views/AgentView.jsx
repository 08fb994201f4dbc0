import { collection, doc, limit, orderBy, query, where } from 'firebase/firestore';
import { useId, useState } from 'react';
import { routes } from '../api.js';
import { Badge, Button, Empty, ErrorNote, fieldClass, Loading, Meter, useAction } from '../components/ui.jsx';
import { AGENT_STATUS, agentActions, can, count, fraction, TERMINAL_SWARM, usd } from '../logic/index.js';
import { useLiveDoc, useLiveQuery, useNow, useSession } from '../live.js';
import { AGENT_TABS, href } from '../router.js';
import { MessageItem } from './Messages.jsx';
import { Transcript } from './Transcript.jsx';

const TAB_LABELS = { transcript: 'Transcript', inbox: 'Inbox', sent: 'Sent' };

export default function AgentView({ sid, aid, tab, focus }) {
  const agent = useLiveDoc((db) => doc(db, 'swarms', sid, 'agents', aid), ['agent', sid, aid]);
  const swarm = useLiveDoc((db) => doc(db, 'swarms', sid), ['swarm', sid]);
  if (agent.error) return <ErrorNote error={agent.error} />;
  if (agent.doc === undefined) return <Loading what="Loading the agent" />;
  if (agent.doc === null) return <ErrorNote>There is no agent {aid} in swarm {sid}.</ErrorNote>;
  const a = agent.doc;
  return (
    <div className="space-y-4" data-testid="agent-view">
      <header className="rounded-lg border border-slate-200 bg-white p-4">
        <p className="text-xs text-slate-600">
          <a href={href.swarms()} className="underline-offset-2 hover:underline">Swarms</a> /{' '}
          <a href={href.swarm(sid)} className="underline-offset-2 hover:underline">{swarm.doc?.goal ? `${swarm.doc.goal.slice(0, 60)}…` : sid}</a> / {aid}
        </p>
        <div className="mt-1 flex flex-wrap items-center gap-2">
          <h1 className="text-xl font-semibold">{a.name ?? aid}</h1>
          <span data-testid="agent-status" data-status={a.status}>
            <Badge table={AGENT_STATUS} status={a.status} />
          </span>
          {swarm.doc && !TERMINAL_SWARM.has(swarm.doc.status) && <AgentControls sid={sid} aid={aid} status={a.status} />}
          <span className="text-sm text-slate-700">
            {a.role === 'lead' ? 'lead' : a.role_description || 'teammate'} · {a.model}
            {a.parent_id ? ` · started by ${a.parent_id}` : ''}
          </span>
        </div>
        <p className="mt-1 text-sm text-slate-800">
          <span className="text-slate-600">Now:</span> {a.activity}
        </p>
        {a.last_error && <ErrorNote>Last error: {a.last_error}</ErrorNote>}
        {a.instructions && (
          <details className="mt-2 text-sm">
            <summary className="cursor-pointer text-slate-700">Instructions</summary>
            <p className="mt-1 whitespace-pre-wrap">{a.instructions}</p>
          </details>
        )}
        <Usage agent={a} />
      </header>
      {swarm.doc && !TERMINAL_SWARM.has(swarm.doc.status) && <SendMessage sid={sid} aid={aid} />}
      <nav aria-label="Agent views">
        <ul className="flex gap-1 border-b border-slate-300">
          {AGENT_TABS.map((t) => (
            <li key={t}>
              <a
                href={href.agent(sid, aid, t)}
                aria-current={t === tab ? 'page' : undefined}
                className={`block border-b-2 px-3 py-2 text-sm font-medium ${t === tab ? 'border-slate-900' : 'border-transparent text-slate-700 hover:text-slate-900'}`}
              >
                {TAB_LABELS[t]}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {tab === 'transcript' && <Transcript sid={sid} aid={aid} version={a.conv_version ?? 0} focus={focus} />}
      {tab === 'inbox' && <Mail sid={sid} field="to" aid={aid} empty="No message to this agent yet." />}
      {tab === 'sent' && <Mail sid={sid} field="from" aid={aid} empty="This agent has sent no message yet." />}
    </div>
  );
}

function Usage({ agent: a }) {
  const u = a.usage ?? {};
  const allowance = a.allowance ?? {};
  const spent = a.spent ?? {};
  return (
    <dl className="mt-3 grid gap-3 text-sm sm:grid-cols-2 lg:grid-cols-4">
      <div>
        <dt className="text-xs text-slate-600">Cost</dt>
        <dd className="font-semibold tabular-nums" data-testid="agent-cost">{usd(u.cost_usd)}</dd>
      </div>
      <div>
        <dt className="text-xs text-slate-600">Tokens in / out</dt>
        <dd className="tabular-nums">
          {count(u.input_tokens)} / {count(u.output_tokens)}
          <span className="text-xs text-slate-600"> (cache {count(u.cache_read_tokens)} read, {count(u.cache_write_tokens)} written)</span>
        </dd>
      </div>
      <div>
        <dt className="text-xs text-slate-600">Turns</dt>
        <dd className="tabular-nums">{a.turns ?? 0}</dd>
      </div>
      <div>
        <dt className="sr-only">Allowance</dt>
        <dd>
          <Meter label="Allowance used (USD)" value={fraction(spent.usd, allowance.usd)} text={`${usd(spent.usd)} of ${usd(allowance.usd)}`} />
        </dd>
      </div>
    </dl>
  );
}

const AGENT_ACTIONS = { pause: ['Pause agent', 'paused'], resume: ['Resume agent', 'resumed'] };

/** Pause or resume this one agent; the rest of the swarm goes on. */
function AgentControls({ sid, aid, status }) {
  const { session, role } = useSession();
  const [busy, run] = useAction();
  if (!can.steer(role)) return null;
  return agentActions(status).map((action) => (
    <Button key={action} variant="secondary" disabled={busy} onClick={() => run(() => session.api.post(routes.agentAction(sid, aid, action), {}), `${aid} ${AGENT_ACTIONS[action][1]}.`)}>
      {AGENT_ACTIONS[action][0]}
    </Button>
  ));
}

function SendMessage({ sid, aid }) {
  const { session, role } = useSession();
  const [body, setBody] = useState('');
  const [interrupt, setInterrupt] = useState(false);
  const [busy, run] = useAction();
  const id = useId();
  if (!can.steer(role)) return null;
  async function submit(e) {
    e.preventDefault();
    const payload = interrupt ? { body: body.trim(), interrupt: true } : { body: body.trim() };
    const said = interrupt ? `${aid} interrupted.` : `Message sent to ${aid}.`;
    const ok = await run(() => session.api.post(routes.message(sid, aid), payload), said);
    if (ok !== undefined) {
      setBody('');
      setInterrupt(false);
    }
  }
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-2 rounded-lg border border-slate-200 bg-white p-3">
      <div className="min-w-60 flex-1">
        <label htmlFor={id} className="text-sm font-medium">
          Message {aid}
        </label>
        <textarea id={id} rows={2} required value={body} onChange={(e) => setBody(e.target.value)} className={fieldClass} placeholder="It lands in the agent's inbox and wakes it." />
      </div>
      <label className="flex items-center gap-1 text-sm">
        <input type="checkbox" checked={interrupt} onChange={(e) => setInterrupt(e.target.checked)} data-testid="interrupt" />
        Interrupt: stop its current answer, read this first
      </label>
      <Button type="submit" variant="primary" disabled={busy || !body.trim()}>
        {interrupt ? 'Interrupt' : 'Send'}
      </Button>
    </form>
  );
}

function Mail({ sid, field, aid, empty }) {
  const mail = useLiveQuery(
    (db) => query(collection(db, 'swarms', sid, 'messages'), where(field, '==', aid), orderBy('created_at', 'desc'), limit(100)),
    ['mail', sid, field, aid],
  );
  const now = useNow(10000);
  if (mail.error) return <ErrorNote error={mail.error} />;
  if (mail.docs === null) return <Loading />;
  if (mail.docs.length === 0) return <Empty>{empty}</Empty>;
  return (
    <ol className="space-y-2" data-testid={`mail-${field}`}>
      {mail.docs.map((m) => (
        <MessageItem key={m.id} m={m} now={now} />
      ))}
    </ol>
  );
}
