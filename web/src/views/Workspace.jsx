// The swarm's shared workspace: its files live from Firestore, one file's content through the
// API (the UI never reads GCS), rendered by kind, with its version history and a diff.
import { collection, limit, orderBy, query } from 'firebase/firestore';
import { useEffect, useMemo, useState } from 'react';
import { routes } from '../api.js';
import { Button, Empty, ErrorNote, Loading } from '../components/ui.jsx';
// Imported directly, not through logic/index.js: the renderers load with this view, on demand.
import { bytes, highlight, kindOf, languageOf, lineDiff, renderMarkdown } from '../logic/artifacts.js';
import { ago, plainText } from '../logic/index.js';
import { useLiveQuery, useNow, useSession } from '../live.js';

export const VERSION_LIMIT = 100;

export default function Workspace({ sid, artifacts }) {
  const [selected, setSelected] = useState(null);
  const now = useNow(10000);
  const chosen = (artifacts ?? []).find((a) => a.path === selected) ?? null;
  if (!artifacts?.length) return <Empty>No files yet: what the agents write with write_artifact shows here.</Empty>;
  return (
    <div className="grid gap-4 lg:grid-cols-[minmax(0,1fr)_minmax(0,2fr)]">
      <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
        <table className="w-full text-left text-sm" data-testid="workspace-files">
          <caption className="sr-only">Files of the workspace</caption>
          <thead className="bg-slate-50 text-xs text-slate-700">
            <tr>
              <th scope="col" className="px-3 py-2">Path</th>
              <th scope="col" className="px-3 py-2">Version</th>
              <th scope="col" className="px-3 py-2">Size</th>
              <th scope="col" className="px-3 py-2">By</th>
            </tr>
          </thead>
          <tbody>
            {artifacts.map((a) => (
              <tr key={a.id} className={`border-t border-slate-100 ${a.path === selected ? 'bg-sky-50' : ''}`} data-path={a.path}>
                <td className="px-3 py-2 break-all">
                  <button type="button" className="text-left font-medium text-sky-900 underline-offset-2 hover:underline" aria-current={a.path === selected ? 'true' : undefined} onClick={() => setSelected(a.path)}>
                    {a.path}
                  </button>
                </td>
                <td className="px-3 py-2">v{a.version}</td>
                <td className="px-3 py-2 whitespace-nowrap">{bytes(a.size)}</td>
                <td className="px-3 py-2">
                  {a.updated_by} <span className="text-xs text-slate-600">{ago(a.updated_at, now)}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {chosen ? <ArtifactFile key={chosen.id} sid={sid} artifact={chosen} /> : <Empty>Choose a file to read it.</Empty>}
    </div>
  );
}

/** One file: a version to read (the latest by default), and another to compare it with. */
function ArtifactFile({ sid, artifact }) {
  const versions = useLiveQuery(
    (db) => query(collection(db, 'swarms', sid, 'artifacts', artifact.id, 'versions'), orderBy('version', 'desc'), limit(VERSION_LIMIT)),
    ['artifact-versions', sid, artifact.id],
  );
  const [shown, setShown] = useState(null); // null: the latest
  const [against, setAgainst] = useState(null); // a version to diff with, or null
  const version = shown ?? artifact.version;
  const content = useArtifactContent(sid, artifact.path, version);
  const base = useArtifactContent(sid, artifact.path, against);
  return (
    <article className="min-w-0 space-y-3 rounded-lg border border-slate-200 bg-white p-4" data-testid="artifact" data-version={version}>
      <header className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 className="font-semibold break-all">{artifact.path}</h2>
        <span className="text-sm text-slate-700">v{version} of {artifact.version}</span>
      </header>
      <VersionHistory versions={versions.docs} shown={version} against={against} onShow={setShown} onCompare={setAgainst} latest={artifact.version} />
      <ErrorNote error={versions.error} />
      {against != null ? (
        <DiffView base={base} content={content} from={against} to={version} />
      ) : (
        <ContentView path={artifact.path} content={content} version={version} />
      )}
    </article>
  );
}

function VersionHistory({ versions, shown, against, onShow, onCompare, latest }) {
  const now = useNow(10000);
  if (!versions) return <Loading what="Loading the history" />;
  return (
    <details className="text-sm" open={versions.length > 1}>
      <summary className="cursor-pointer font-medium">History ({versions.length})</summary>
      <ol className="mt-2 space-y-1" data-testid="artifact-history">
        {versions.map((v) => (
          <li key={v.id} className="flex flex-wrap items-center gap-2" data-version={v.version}>
            <span className="w-10 font-mono">v{v.version}</span>
            <span className="min-w-0 flex-1 break-words">
              {v.updated_by} · {bytes(v.size)} · {ago(v.updated_at, now)}
            </span>
            <Button className="px-2 py-0.5 text-xs" disabled={v.version === shown && against == null} onClick={() => { onShow(v.version === latest ? null : v.version); onCompare(null); }}>
              Read
            </Button>
            <Button className="px-2 py-0.5 text-xs" disabled={v.version === shown} onClick={() => onCompare(v.version)} aria-label={`Compare v${v.version} with v${shown}`}>
              Diff
            </Button>
          </li>
        ))}
      </ol>
    </details>
  );
}

/** The content of one version through the API: {blob, text (for text), error}; version null:
 *  nothing is fetched. */
export function useArtifactContent(sid, path, version) {
  const { session } = useSession();
  const [state, setState] = useState({ key: null, blob: null, text: null, error: null });
  const key = JSON.stringify([sid, path, version]);
  useEffect(() => {
    if (version == null) return undefined;
    let cancelled = false;
    setState({ key, blob: null, text: null, error: null });
    session.api
      .get(routes.artifact(sid, path, version), { as: 'blob' })
      .then(async (blob) => {
        const text = kindOf(path, blob.type) === 'binary' ? null : await blob.text();
        if (!cancelled) setState({ key, blob, text, error: null });
      })
      .catch((error) => !cancelled && setState({ key, blob: null, text: null, error }));
    return () => {
      cancelled = true;
    };
  }, [session, key]);
  return state.key === key ? state : { blob: null, text: null, error: null };
}

function ContentView({ path, content, version }) {
  if (content.error) return <ErrorNote error={content.error} />;
  if (!content.blob) return <Loading what="Loading the file" />;
  return <ArtifactBody path={path} contentType={content.blob.type} text={content.text} blob={content.blob} version={version} />;
}

/** A file's body by kind: Markdown rendered (its HTML escaped), code highlighted, text as text,
 *  anything else a download. */
export function ArtifactBody({ path, contentType, text, blob, version }) {
  const kind = kindOf(path, contentType);
  const html = useMemo(() => {
    if (kind === 'markdown') return renderMarkdown(text);
    if (kind === 'code') return highlight(text, languageOf(path));
    return null;
  }, [kind, text, path]);
  if (kind === 'binary') return <Download path={path} blob={blob} version={version} contentType={contentType} />;
  if (kind === 'markdown') {
    // markdown-it with html off: the source's tags are escaped, unsafe links refused.
    return <div className="markdown max-w-none text-sm leading-6" data-testid="artifact-markdown" dangerouslySetInnerHTML={{ __html: html }} />;
  }
  return (
    <pre className="max-h-[70vh] overflow-auto rounded-md bg-slate-50 p-3 text-xs" data-testid="artifact-text">
      {html != null ? <code className="hljs" dangerouslySetInnerHTML={{ __html: html }} /> : <code>{plainText(text)}</code>}
    </pre>
  );
}

function Download({ path, blob, version, contentType }) {
  const [url, setUrl] = useState(null);
  useEffect(() => {
    if (!blob) return undefined;
    const u = URL.createObjectURL(blob);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [blob]);
  const name = String(path).split('/').pop();
  return (
    <p className="text-sm" data-testid="artifact-download">
      This file is not text ({plainText(contentType) || 'unknown type'}).{' '}
      {url ? (
        <a href={url} download={name} className="font-medium text-sky-900 underline">
          Download {name} (v{version})
        </a>
      ) : null}
    </p>
  );
}

function DiffView({ base, content, from, to }) {
  const error = base.error || content.error;
  if (error) return <ErrorNote error={error} />;
  if (!base.blob || !content.blob) return <Loading what="Loading both versions" />;
  if (base.text == null || content.text == null) return <Empty>These versions are not text: there is no line diff to show.</Empty>;
  return <DiffBody before={base.text} after={content.text} from={from} to={to} />;
}

export function DiffBody({ before, after, from, to }) {
  const diff = useMemo(() => lineDiff(before, after), [before, after]);
  return (
    <div data-testid="artifact-diff">
      <p className="mb-2 text-sm text-slate-700">
        From v{from} to v{to}: <span className="text-emerald-800">+{diff.added}</span> <span className="text-red-800">−{diff.removed}</span> lines
      </p>
      <pre className="max-h-[70vh] overflow-auto rounded-md bg-slate-50 p-3 text-xs">
        {diff.parts.map((p, i) => (
          <span
            key={i}
            data-diff={p.kind}
            className={`block whitespace-pre-wrap ${p.kind === 'added' ? 'bg-emerald-100 text-emerald-950' : p.kind === 'removed' ? 'bg-red-100 text-red-950 line-through decoration-red-400' : ''}`}
          >
            {p.text
              .replace(/\n$/, '')
              .split('\n')
              .map((line) => `${p.kind === 'added' ? '+ ' : p.kind === 'removed' ? '- ' : '  '}${line}`)
              .join('\n')}
          </span>
        ))}
      </pre>
    </div>
  );
}
