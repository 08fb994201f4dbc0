import { useState } from 'react';
import { Empty } from '../components/ui.jsx';
import { ago, clock, describeEvent, EVENT_GROUPS, filterEvents } from '../logic/index.js';
import { useNow } from '../live.js';

const DOT = {
  swarm: 'bg-slate-800',
  agents: 'bg-emerald-600',
  tasks: 'bg-amber-500',
  messages: 'bg-sky-600',
  approvals: 'bg-violet-600',
  artifacts: 'bg-teal-600',
  other: 'bg-slate-400',
};

export function Activity({ events, compact = false }) {
  const [group, setGroup] = useState('all');
  const now = useNow(10000);
  const shown = filterEvents(events, group);
  return (
    <div>
      {!compact && (
        <fieldset className="mb-3 flex flex-wrap gap-1">
          <legend className="sr-only">Show</legend>
          {EVENT_GROUPS.map((g) => (
            <label key={g} className={`cursor-pointer rounded-full px-3 py-1 text-sm ring-1 ring-inset has-focus-visible:outline-3 has-focus-visible:outline-blue-700 ${group === g ? 'bg-slate-900 text-white ring-slate-900' : 'bg-white text-slate-800 ring-slate-300'}`}>
              <input type="radio" name="event-group" value={g} checked={group === g} onChange={() => setGroup(g)} className="sr-only" />
              {g}
            </label>
          ))}
        </fieldset>
      )}
      {shown.length === 0 ? (
        <Empty>No activity yet.</Empty>
      ) : (
        <ol className={compact ? 'space-y-1' : 'space-y-2 rounded-lg border border-slate-200 bg-white p-3'} data-testid="timeline">
          {shown.map((e) => {
            const { label, group: g } = describeEvent(e);
            return (
              <li key={e.id} className="flex gap-2 text-sm" data-kind={e.kind}>
                <span aria-hidden="true" className={`mt-1.5 h-2 w-2 flex-none rounded-full ${DOT[g] ?? DOT.other}`} />
                <div className="min-w-0">
                  <span className="font-medium">{label}</span>
                  <span className="text-slate-600"> · {e.actor}</span>
                  <time className="ml-1 text-xs text-slate-600" title={clock(e.at)}>
                    {ago(e.at, now)}
                  </time>
                  <div className={`text-slate-800 ${compact ? 'truncate' : 'break-words'}`}>{e.summary}</div>
                </div>
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}
