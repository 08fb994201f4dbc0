import { useEffect, useMemo, useState } from 'react';
import { routes } from '../api.js';
import { useSession } from '../live.js';
import { Button, Empty, ErrorNote, Loading } from '../components/ui.jsx';
import { count, parseJsonLines, transcriptSteps, transcriptTotals, usd } from '../logic/index.js';

const KIND = {
  turn: { label: 'Turn input', cls: 'border-slate-400 bg-slate-50' },
  text: { label: 'Says', cls: 'border-sky-400 bg-sky-50' },
  tool_use: { label: 'Calls tool', cls: 'border-amber-400 bg-amber-50' },
  tool_result: { label: 'Tool result', cls: 'border-emerald-400 bg-emerald-50' },
  other: { label: 'Block', cls: 'border-slate-300 bg-white' },
};

export function Transcript({ sid, aid, version }) {
  const { text, error } = useTranscript(sid, aid, version);
  const parsed = useMemo(() => parseJsonLines(text ?? ''), [text]);
  const steps = useMemo(() => transcriptSteps(parsed.records), [parsed]);
  const totals = transcriptTotals(steps);
  const [open, setOpen] = useState(false);
  if (text === null && !error) return <Loading what="Loading the transcript" />;
  return (
    <div className="space-y-3" data-testid="transcript">
      {error && <ErrorNote>The transcript could not be loaded: {error.message}</ErrorNote>}
      {parsed.error && <ErrorNote>The transcript is incomplete: {parsed.error.message}</ErrorNote>}
      {parsed.bad > 0 && <ErrorNote>{parsed.bad} transcript line(s) could not be read and are left out.</ErrorNote>}
      {steps.length === 0 ? (
        !error && <Empty>No model call yet.</Empty>
      ) : (
        <>
          <div className="flex flex-wrap items-center justify-between gap-2 text-sm text-slate-700">
            <p>
              {totals.calls} model call{totals.calls === 1 ? '' : 's'}, {totals.toolCalls} tool call{totals.toolCalls === 1 ? '' : 's'}, {count(totals.input)} tokens in,{' '}
              {count(totals.output)} out, {usd(totals.costUsd)}.
            </p>
            <Button onClick={() => setOpen((o) => !o)} aria-pressed={open}>
              {open ? 'Collapse all' : 'Expand all'}
            </Button>
          </div>
          <ol className="space-y-3">
            {steps.map((s) => (
              <li key={s.n} className="rounded-lg border border-slate-200 bg-white p-3" data-testid="transcript-step">
                <h3 className="flex flex-wrap items-baseline justify-between gap-2 text-sm font-semibold">
                  <span>
                    Model call {s.n}
                    {s.turn != null && <span className="font-normal text-slate-600"> (turn {s.turn})</span>}
                    {s.toolCalls.length > 0 && <span className="font-normal text-slate-700"> → {s.toolCalls.join(', ')}</span>}
                  </span>
                  <span className="text-xs font-normal text-slate-600 tabular-nums">
                    {s.model} · {count(s.usage.input)} in · {count(s.usage.output)} out
                    {s.usage.cacheRead ? ` · ${count(s.usage.cacheRead)} cached` : ''} · {usd(s.costUsd)}
                    {s.stopReason ? ` · ${s.stopReason}` : ''}
                  </span>
                </h3>
                <div className="mt-2 space-y-1">
                  {s.input.map((b, i) => (
                    <Block key={`i${i}`} b={b} open={open} />
                  ))}
                  {s.output.map((b, i) => (
                    <Block key={`o${i}`} b={b} open={open || b.kind === 'text'} />
                  ))}
                </div>
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

function Block({ b, open }) {
  const k = b.isError ? { label: 'Tool error', cls: 'border-red-500 bg-red-50' } : (KIND[b.kind] ?? KIND.other);
  return (
    <details className={`rounded border-l-4 px-2 py-1 text-sm ${k.cls}`} open={open} data-kind={b.kind}>
      <summary className="cursor-pointer break-words">
        <span className="font-medium">{k.label}:</span> {b.title}
      </summary>
      <pre className="mt-1 max-h-96 overflow-auto whitespace-pre-wrap break-words text-xs">{b.body}</pre>
    </details>
  );
}

export function useTranscript(sid, aid, version) {
  const { session } = useSession();
  const [state, setState] = useState({ text: null, error: null });
  useEffect(() => {
    // Fetched again only when the agent's conversation moves on (a live Firestore field).
    let cancelled = false;
    session.api
      .get(routes.transcript(sid, aid), { as: 'text' })
      .then((text) => !cancelled && setState({ text, error: null }))
      .catch((error) => !cancelled && setState((s) => ({ text: s.text ?? '', error })));
    return () => {
      cancelled = true;
    };
  }, [session, sid, aid, version]);
  return state;
}
