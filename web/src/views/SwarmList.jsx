import { collection, limit, orderBy, query } from 'firebase/firestore';
import { useEffect, useId, useState } from 'react';
import { routes } from '../api.js';
import { Badge, Button, Empty, ErrorNote, fieldClass, Loading, Meter, useAction } from '../components/ui.jsx';
import { ago, AGENT_STATUS, can, clock, count, plainText, SWARM_STATUS, swarmOrigin, swarmSummary, truncate, usd } from '../logic/index.js';
import { useLiveQuery, useNow, useSession } from '../live.js';
import { href, navigate } from '../router.js';

const LIST_LIMIT = 50;

export function SwarmList() {
  const { role } = useSession();
  const swarms = useLiveQuery((db) => query(collection(db, 'swarms'), orderBy('created_at', 'desc'), limit(LIST_LIMIT)), ['swarms']);
  const now = useNow();
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold">Swarms</h1>
          <p className="text-sm text-slate-700">Live: every change shows here as it happens.</p>
        </div>
      </div>
      {can.steer(role) && <NewSwarm />}
      <section aria-labelledby="swarms-heading">
        <h2 id="swarms-heading" className="sr-only">
          All swarms
        </h2>
        <ErrorNote error={swarms.error} />
        {swarms.docs === null ? (
          <Loading what="Loading swarms" />
        ) : swarms.docs.length === 0 ? (
          <Empty>No swarm yet. Start one above, or run `make demo`.</Empty>
        ) : (
          <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table className="w-full text-left text-sm" data-testid="swarm-table">
              <thead className="bg-slate-100 text-xs uppercase tracking-wide text-slate-700">
                <tr>
                  <th scope="col" className="px-3 py-2">Goal</th>
                  <th scope="col" className="px-3 py-2">Status</th>
                  <th scope="col" className="px-3 py-2">Agents</th>
                  <th scope="col" className="hidden px-3 py-2 sm:table-cell">Tasks done</th>
                  <th scope="col" className="hidden px-3 py-2 md:table-cell">Spend / budget</th>
                  <th scope="col" className="hidden px-3 py-2 lg:table-cell">Started</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-200">
                {swarms.docs.map((s) => (
                  <SwarmRow key={s.id} swarm={s} now={now} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <DeadLetters />
    </div>
  );
}

function SwarmRow({ swarm, now }) {
  // Spend lives on the agents (the swarm document is not written on every call).
  const agents = useLiveQuery((db) => collection(db, 'swarms', swarm.id, 'agents'), ['agents', swarm.id]);
  const sum = swarmSummary(swarm, agents.docs);
  const working = sum.agentsByStatus.running ?? 0;
  const waiting = sum.agentsByStatus.waiting_approval ?? 0;
  const origin = swarmOrigin(swarm.created_by); // what started it: API, webhook, schedule, Pub/Sub
  return (
    <tr className="align-top hover:bg-slate-50" data-testid="swarm-row" data-swarm={swarm.id} data-loaded={agents.docs ? 'true' : 'false'}>
      <td className="max-w-md px-3 py-2">
        <a href={href.swarm(swarm.id)} className="font-medium text-sky-800 underline-offset-2 hover:underline">
          {truncate(swarm.goal, 120)}
        </a>
        <div className="text-xs text-slate-600">
          {swarm.id} ·{' '}
          <span data-testid="swarm-origin" data-origin={origin.kind} title={swarm.created_by ?? ''}>
            {origin.label}
            {origin.detail && `: ${origin.detail}`}
          </span>
        </div>
      </td>
      <td className="px-3 py-2">
        <Badge table={SWARM_STATUS} status={swarm.status} />
      </td>
      <td className="px-3 py-2 whitespace-nowrap">
        <span className="tabular-nums">{sum.agentCount}</span>
        {working > 0 && <span className="ml-1 text-xs text-emerald-800">· {working} {AGENT_STATUS.running.label.toLowerCase()}</span>}
        {waiting > 0 && <span className="ml-1 text-xs text-violet-800">· {waiting} waiting</span>}
      </td>
      <td className="hidden min-w-32 px-3 py-2 sm:table-cell">
        <Meter label="Tasks done" value={sum.taskFraction} text={`${sum.tasksDone} of ${sum.taskTotal}`} kind="progress" />
      </td>
      <td className="hidden min-w-36 px-3 py-2 md:table-cell">
        {agents.docs === null ? (
          <span className="text-xs text-slate-600">…</span>
        ) : (
          <>
            <Meter
              label="Spend"
              value={sum.spendFraction}
              text={sum.budgetUsd != null ? `${usd(sum.spentUsd)} of ${usd(sum.budgetUsd)}` : `${usd(sum.spentUsd)} (no cap)`}
            />
            <div className="mt-0.5 text-xs text-slate-600">{count(sum.tokens)} tokens</div>
          </>
        )}
      </td>
      <td className="hidden px-3 py-2 text-xs text-slate-700 lg:table-cell">
        <time title={clock(swarm.created_at)}>{ago(swarm.created_at, now)}</time>
      </td>
    </tr>
  );
}

function NewSwarm() {
  const { session } = useSession();
  const [open, setOpen] = useState(false);
  const [goal, setGoal] = useState('');
  const [model, setModel] = useState('');
  const [budget, setBudget] = useState('');
  const [template, setTemplate] = useState('');
  const [templates, setTemplates] = useState([]);
  const [busy, run] = useAction();
  const ids = { goal: useId(), model: useId(), budget: useId(), template: useId() };
  useEffect(() => {
    // The team templates a swarm may start from (GET /api/templates); none listed if it fails.
    if (!open || !session) return;
    session.api
      .get(routes.templates)
      .then((out) => setTemplates(Array.isArray(out?.templates) ? out.templates : []))
      .catch(() => setTemplates([]));
  }, [open, session]);
  if (!open) {
    return (
      <Button variant="primary" onClick={() => setOpen(true)}>
        New swarm
      </Button>
    );
  }
  async function submit(e) {
    e.preventDefault();
    const body = { goal: goal.trim() };
    if (model.trim()) body.model = model.trim();
    if (budget !== '') body.budget = { usd: Number(budget) };
    if (template) body.template = template;
    const out = await run(() => session.api.post(routes.swarms, body), 'Swarm started.');
    if (out?.swarm_id) navigate(href.swarm(out.swarm_id));
  }
  return (
    <form onSubmit={submit} className="space-y-3 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="new-swarm-heading">
      <h2 id="new-swarm-heading" className="text-lg font-semibold">
        Start a swarm
      </h2>
      <div>
        <label htmlFor={ids.goal} className="text-sm font-medium">
          Goal
        </label>
        <textarea id={ids.goal} required rows={3} value={goal} onChange={(e) => setGoal(e.target.value)} className={fieldClass} placeholder="What should the team achieve?" />
      </div>
      <div>
        <label htmlFor={ids.template} className="text-sm font-medium">
          Team template <span className="font-normal text-slate-600">(optional: its lead instructions, teammates, tools and budget)</span>
        </label>
        <select id={ids.template} value={template} onChange={(e) => setTemplate(e.target.value)} className={fieldClass} data-testid="template-select">
          <option value="">none</option>
          {templates.map((t) => (
            <option key={t.name} value={t.name}>
              {plainText(`${t.name}${t.description ? ` — ${t.description}` : ''}`)}
            </option>
          ))}
        </select>
      </div>
      <div className="grid gap-3 sm:grid-cols-2">
        <div>
          <label htmlFor={ids.model} className="text-sm font-medium">
            Model <span className="font-normal text-slate-600">(optional)</span>
          </label>
          <input id={ids.model} value={model} onChange={(e) => setModel(e.target.value)} className={fieldClass} placeholder="the API's default" />
        </div>
        <div>
          <label htmlFor={ids.budget} className="text-sm font-medium">
            Budget in USD <span className="font-normal text-slate-600">(optional)</span>
          </label>
          <input id={ids.budget} type="number" min="0" step="0.01" inputMode="decimal" value={budget} onChange={(e) => setBudget(e.target.value)} className={fieldClass} />
        </div>
      </div>
      <div className="flex gap-2">
        <Button type="submit" variant="primary" disabled={busy || !goal.trim()}>
          {busy ? 'Starting…' : 'Start swarm'}
        </Button>
        <Button onClick={() => setOpen(false)}>Cancel</Button>
      </div>
    </form>
  );
}

function DeadLetters() {
  const letters = useLiveQuery((db) => query(collection(db, 'dead_letters'), orderBy('at', 'desc'), limit(20)), ['dead_letters']);
  const n = letters.docs?.length ?? 0;
  return (
    <section aria-labelledby="dl-heading" className="rounded-lg border border-slate-200 bg-white p-4">
      <h2 id="dl-heading" className="text-base font-semibold">
        Dead letters <span className="text-sm font-normal text-slate-600">({n === 20 ? '20 newest' : n})</span>
      </h2>
      <p className="text-xs text-slate-600">Doorbells that could not be delivered and trigger messages that were refused.</p>
      <ErrorNote error={letters.error} />
      {n > 0 && (
        <ul className="mt-2 divide-y divide-slate-100 text-sm" data-testid="dead-letters">
          {letters.docs.map((d) => (
            <li key={d.id} className="py-2">
              <span className="font-medium">{d.source}</span>: {d.reason}
              <span className="ml-2 text-xs text-slate-600">{clock(d.at)}</span>
              <details className="mt-1">
                <summary className="cursor-pointer text-xs text-slate-700">Payload</summary>
                <pre className="mt-1 overflow-x-auto rounded bg-slate-50 p-2 text-xs">{JSON.stringify(d.payload, null, 2)}</pre>
              </details>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
