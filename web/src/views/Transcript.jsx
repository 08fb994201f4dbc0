import { useEffect, useMemo, useRef, useState } from 'react';
import { routes } from '../api.js';
import { useSession } from '../live.js';
import { Button, Empty, ErrorNote, Loading } from '../components/ui.jsx';
import { count, isFocusedCall, parseJsonLines, plainDeep, plainText, transcriptSteps, transcriptTotals, usd } from '../logic/index.js';

const KIND = {
  turn: { label: 'Turn input', cls: 'border-slate-400 bg-slate-50' },
  text: { label: 'Says', cls: 'border-sky-400 bg-sky-50' },
  tool_use: { label: 'Calls tool', cls: 'border-amber-400 bg-amber-50' },
  tool_result: { label: 'Tool result', cls: 'border-emerald-400 bg-emerald-50' },
  server_tool_use: { label: 'Server tool', cls: 'border-violet-400 bg-violet-50' },
  search_results: { label: 'Search results', cls: 'border-violet-400 bg-white' },
  fetched_page: { label: 'Fetched page', cls: 'border-violet-400 bg-white' },
  code_result: { label: 'Code output', cls: 'border-violet-400 bg-white' },
  compaction: { label: 'Compaction', cls: 'border-orange-400 bg-orange-50' },
  other: { label: 'Block', cls: 'border-slate-300 bg-white' },
};
const ERROR_LABEL = { code_result: 'Code error', search_results: 'Search error', fetched_page: 'Fetch error' };

export function Transcript({ sid, aid, version, focus }) {
  const { text, error } = useTranscript(sid, aid, version);
  return <TranscriptBody text={text} error={error} focus={focus} />;
}

/** The steps of a fetched transcript (`text`: its JSON lines, null while loading). */
export function TranscriptBody({ text, error, focus }) {
  const parsed = useMemo(() => {
    const p = parseJsonLines(text ?? '');
    return { ...p, records: plainDeep(p.records) };
  }, [text]);
  const steps = useMemo(() => transcriptSteps(parsed.records), [parsed]);
  const totals = transcriptTotals(steps);
  const [open, setOpen] = useState(false);
  // Opened from the timeline at one call: that step is marked and scrolled to, once.
  const focused = useRef(null);
  const focusN = steps.find((s) => isFocusedCall(s.object, focus))?.n ?? null;
  useEffect(() => {
    if (focusN != null && focused.current !== `${focus?.turn}:${focus?.call}`) {
      focused.current = `${focus?.turn}:${focus?.call}`;
      document.getElementById(`transcript-step-${focusN}`)?.scrollIntoView({ block: 'start' });
    }
  }, [focusN, focus]);
  if (text === null && !error) return <Loading what="Loading the transcript" />;
  return (
    <div className="space-y-3" data-testid="transcript">
      {error && <ErrorNote>The transcript could not be loaded: {plainText(error.message)}</ErrorNote>}
      {parsed.error && <ErrorNote>The transcript is incomplete: {plainText(parsed.error.message)}</ErrorNote>}
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
              <li
                key={s.n}
                id={`transcript-step-${s.n}`}
                className={`rounded-lg border bg-white p-3 ${s.n === focusN ? 'border-sky-600 ring-2 ring-sky-300' : 'border-slate-200'}`}
                data-testid="transcript-step"
                data-focused={s.n === focusN ? 'true' : undefined}
              >
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
                    {s.contextEdits ? ` · context ${s.contextEdits}` : ''}
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
  const k = b.isError ? { label: ERROR_LABEL[b.kind] ?? 'Tool error', cls: 'border-red-500 bg-red-50' } : (KIND[b.kind] ?? KIND.other);
  // Search results and a fetched page are links, code its output (open at once: they are what
  // the agent read and ran); a text's citations show under it; code's errors after its output.
  const shown = open || Boolean(b.links?.length) || b.kind === 'code_result';
  return (
    <details className={`rounded border-l-4 px-2 py-1 text-sm ${k.cls}`} open={shown} data-kind={b.kind}>
      <summary className="cursor-pointer break-words">
        <span className="font-medium">{k.label}:</span> {b.title}
      </summary>
      {b.links?.length > 0 && <Links links={b.links} testid={b.kind === 'search_results' ? 'search-result' : 'fetched-url'} />}
      {b.body && <pre className="mt-1 max-h-96 overflow-auto whitespace-pre-wrap break-words text-xs">{b.body}</pre>}
      {b.stderr && (
        <pre className="mt-1 max-h-48 overflow-auto whitespace-pre-wrap break-words text-xs text-red-800" data-testid="code-stderr">
          {b.stderr}
        </pre>
      )}
      {b.citations?.length > 0 && (
        <div className="mt-1 border-t border-sky-200 pt-1 text-xs" data-testid="citations">
          <p className="font-medium text-slate-700">Cites:</p>
          <Links links={b.citations} testid="citation" />
        </div>
      )}
    </details>
  );
}

/** Links to outside pages: only http(s) ones are links (safeUrl); others show as text. */
function Links({ links, testid }) {
  return (
    <ul className="mt-1 space-y-0.5 text-xs">
      {links.map((l, i) => (
        <li key={i} data-testid={testid} className="break-words">
          {l.href ? (
            <a href={l.href} target="_blank" rel="noopener noreferrer nofollow" className="font-medium text-sky-800 underline">
              {l.title}
            </a>
          ) : (
            <span className="font-medium">{l.title}</span>
          )}
          {l.url && l.url !== l.title && <span className="text-slate-600"> · {l.url}</span>}
          {l.age && <span className="text-slate-600"> · {l.age}</span>}
          {l.cited && <q className="block text-slate-700">{l.cited}</q>}
        </li>
      ))}
    </ul>
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
