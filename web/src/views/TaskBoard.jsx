import { useId, useMemo, useState } from 'react';
import { Badge, Empty, fieldClass } from '../components/ui.jsx';
import { COLUMNS, dependencyLevels, dependents, filterTasks, groupByStatus, TASK_STATUS, truncate } from '../logic/index.js';
import { href } from '../router.js';

export function TaskBoard({ tasks, agents, sid }) {
  const [view, setView] = useState('columns');
  const [owner, setOwner] = useState('');
  const [text, setText] = useState('');
  const ids = { owner: useId(), text: useId() };
  const shown = useMemo(() => filterTasks(tasks, { owner, text }), [tasks, owner, text]);
  const blocks = useMemo(() => dependents(tasks), [tasks]);
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-end gap-3">
        <div role="group" aria-label="Board layout" className="inline-flex rounded-md ring-1 ring-slate-300">
          {[
            ['columns', 'By status'],
            ['deps', 'By dependency'],
          ].map(([v, label]) => (
            <button
              key={v}
              type="button"
              aria-pressed={view === v}
              onClick={() => setView(v)}
              className={`px-3 py-1.5 text-sm first:rounded-l-md last:rounded-r-md ${view === v ? 'bg-slate-900 text-white' : 'bg-white text-slate-800'}`}
            >
              {label}
            </button>
          ))}
        </div>
        <div>
          <label htmlFor={ids.owner} className="text-xs font-medium text-slate-700">
            Owner
          </label>
          <select id={ids.owner} value={owner} onChange={(e) => setOwner(e.target.value)} className={`${fieldClass} mt-0 py-1.5`}>
            <option value="">everyone</option>
            {agents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.id}
              </option>
            ))}
          </select>
        </div>
        <div className="min-w-48 flex-1 sm:flex-none">
          <label htmlFor={ids.text} className="text-xs font-medium text-slate-700">
            Search
          </label>
          <input id={ids.text} type="search" value={text} onChange={(e) => setText(e.target.value)} className={`${fieldClass} mt-0 py-1.5`} placeholder="id, title or owner" />
        </div>
        <p className="text-sm text-slate-700" aria-live="polite">
          {shown.length} of {tasks.length} tasks
        </p>
      </div>
      {tasks.length === 0 ? (
        <Empty>No task yet: the lead plans the work first.</Empty>
      ) : view === 'columns' ? (
        <Columns tasks={shown} blocks={blocks} sid={sid} />
      ) : (
        <Levels tasks={shown} blocks={blocks} sid={sid} />
      )}
    </div>
  );
}

function Columns({ tasks, blocks, sid }) {
  const cols = groupByStatus(tasks);
  return (
    <div className="grid gap-3 md:grid-cols-3 xl:grid-cols-5" data-testid="task-columns">
      {COLUMNS.map((c) => (
        <section key={c} aria-labelledby={`col-${c}`} className="rounded-lg bg-slate-100 p-2" data-column={c}>
          <h3 id={`col-${c}`} className="mb-2 flex items-center justify-between px-1 text-sm font-semibold">
            {TASK_STATUS[c].label}
            <span className="rounded-full bg-white px-2 text-xs tabular-nums" data-testid="column-count">
              {cols[c].length}
            </span>
          </h3>
          <ul className="max-h-[36rem] space-y-2 overflow-y-auto">
            {cols[c].map((t) => (
              <li key={t.id}>
                <TaskCard task={t} blocks={blocks[t.id]} sid={sid} />
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

function Levels({ tasks, blocks, sid }) {
  const levels = dependencyLevels(tasks);
  return (
    <div className="overflow-x-auto" data-testid="task-levels">
      <ol className="flex min-w-max gap-3">
        {levels.map((lv, i) => (
          <li key={i} className="w-64 rounded-lg bg-slate-100 p-2">
            <h3 className="mb-2 px-1 text-sm font-semibold">{i === 0 ? 'Can start now or already done (no dependency)' : `Step ${i + 1}: after step ${i}`}</h3>
            <ul className="space-y-2">
              {lv.map((t) => (
                <li key={t.id}>
                  <TaskCard task={t} blocks={blocks[t.id]} sid={sid} showStatus />
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
    </div>
  );
}

function TaskCard({ task, blocks, sid, showStatus = false }) {
  const waiting = task.waiting_on ?? [];
  return (
    <article className="rounded-md border border-slate-200 bg-white p-2 text-sm shadow-sm" data-testid="task-card" data-task={task.id} data-status={task.status} aria-label={`Task ${task.id}: ${task.title}`}>
      <div className="flex items-start justify-between gap-2">
        <span className="font-mono text-xs text-slate-600">{task.id}</span>
        {showStatus && <Badge table={TASK_STATUS} status={task.status} />}
      </div>
      <p className="font-medium break-words">{truncate(task.title, 140)}</p>
      {task.owner && (
        <p className="text-xs text-slate-700">
          owner{' '}
          <a className="text-sky-800 underline-offset-2 hover:underline" href={href.agent(sid, task.owner)}>
            {task.owner}
          </a>
        </p>
      )}
      {(task.blocked_by ?? []).length > 0 && (
        <p className="text-xs text-slate-700">
          needs {task.blocked_by.map((d) => (waiting.includes(d) ? `${d} (waiting)` : `${d} ✓`)).join(', ')}
        </p>
      )}
      {blocks?.length > 0 && <p className="text-xs text-slate-600">unblocks {blocks.join(', ')}</p>}
      {task.result && (
        <details className="mt-1">
          <summary className="cursor-pointer text-xs text-slate-700">Result</summary>
          <p className="mt-1 text-xs whitespace-pre-wrap">{task.result}</p>
        </details>
      )}
    </article>
  );
}
