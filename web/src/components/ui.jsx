// Small building blocks shared by the views.
import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { percent, plainText, statusMeta } from '../logic/index.js';

export function Badge({ table, status, className = '' }) {
  const meta = statusMeta(table, status);
  return (
    <span
      className={`inline-flex items-center whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${meta.className} ${className}`}
      data-status={status}
    >
      {meta.label}
    </span>
  );
}

/**
 * A labelled meter: `value` 0..1 or null (no cap: the bar is left out, the text stays).
 * kind "budget" turns amber near the cap and red at it; "progress" (tasks done, shares) stays blue.
 */
export function Meter({ label, value, text, kind = 'budget', warnAt = 0.8, hideLabel = false, className = '' }) {
  const budgetTone = value >= 1 ? 'bg-red-600' : value >= warnAt ? 'bg-amber-500' : 'bg-emerald-600';
  const tone = value == null ? '' : kind === 'progress' ? 'bg-sky-600' : budgetTone;
  return (
    <div className={className}>
      <div className="flex items-baseline justify-between gap-2 text-xs text-slate-700">
        <span className={hideLabel ? 'sr-only' : ''}>{label}</span>
        <span className="font-medium tabular-nums text-slate-900">
          {text}
          {value != null && <span className="ml-1 text-slate-600">({percent(value)})</span>}
        </span>
      </div>
      {value != null && (
        <div
          role="meter"
          aria-label={label}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(value * 100)}
          aria-valuetext={`${text} (${percent(value)})`}
          className="mt-1 h-1.5 overflow-hidden rounded-full bg-slate-200"
        >
          <div className={`h-full ${tone} transition-[width] duration-500`} style={{ width: percent(value) }} />
        </div>
      )}
    </div>
  );
}

export function ErrorNote({ error, children }) {
  if (!error && !children) return null;
  const msg =
    error?.code === 'permission-denied'
      ? 'You are not allowed to read this (Firestore refused it). Your role may not include it.'
      : plainText(error?.message ?? String(error ?? ''));
  return (
    <p role="alert" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-900">
      {typeof children === 'string' ? plainText(children) : (children ?? msg)}
    </p>
  );
}

export function Loading({ what = 'Loading' }) {
  return (
    <p className="animate-pulse text-sm text-slate-600" role="status">
      {what}…
    </p>
  );
}

export function Empty({ children }) {
  return <p className="rounded-md border border-dashed border-slate-300 px-3 py-6 text-center text-sm text-slate-600">{children}</p>;
}

const VARIANTS = {
  primary: 'bg-slate-900 text-white hover:bg-slate-700',
  secondary: 'bg-white text-slate-900 ring-1 ring-inset ring-slate-300 hover:bg-slate-50',
  danger: 'bg-red-700 text-white hover:bg-red-800',
  ghost: 'text-slate-800 hover:bg-slate-100',
};

export function Button({ variant = 'secondary', className = '', type = 'button', ...props }) {
  return (
    <button
      type={type}
      className={`inline-flex min-h-9 items-center justify-center gap-1 rounded-md px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed disabled:opacity-50 ${VARIANTS[variant]} ${className}`}
      {...props}
    />
  );
}

/** A modal on the native <dialog>: focus is trapped, Escape closes, focus returns after. */
export function Dialog({ title, onClose, children, labelledBy = 'dialog-title' }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    const opener = document.activeElement;
    d.showModal();
    return () => {
      if (d.open) d.close();
      opener?.focus?.();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={labelledBy}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      className="m-auto w-[min(32rem,calc(100vw-2rem))] rounded-lg p-0 shadow-xl backdrop:bg-slate-900/50"
    >
      <div className="p-5">
        <h2 id={labelledBy} className="text-lg font-semibold text-slate-900">
          {title}
        </h2>
        <div className="mt-3">{children}</div>
      </div>
    </dialog>
  );
}

export const fieldClass =
  'mt-1 block w-full rounded-md border border-slate-400 bg-white px-3 py-2 text-sm text-slate-900 placeholder:text-slate-500';

// Announcements for screen readers and a visible toast: results of human actions.
const AnnounceContext = createContext(() => {});

export function AnnounceProvider({ children }) {
  const [msg, setMsg] = useState(null);
  const announce = useCallback((text, tone = 'ok') => {
    setMsg({ text, tone, at: Date.now() });
  }, []);
  useEffect(() => {
    if (!msg) return undefined;
    const t = setTimeout(() => setMsg(null), 6000);
    return () => clearTimeout(t);
  }, [msg]);
  return (
    <AnnounceContext.Provider value={announce}>
      {children}
      <div aria-live="polite" role="status" className="pointer-events-none fixed inset-x-0 bottom-4 z-50 flex justify-center px-4">
        {msg && (
          <p
            className={`pointer-events-auto rounded-md px-4 py-2 text-sm shadow-lg ${msg.tone === 'error' ? 'bg-red-700 text-white' : 'bg-slate-900 text-white'}`}
          >
            {msg.text}
          </p>
        )}
      </div>
    </AnnounceContext.Provider>
  );
}

export function useAnnounce() {
  return useContext(AnnounceContext);
}

/** Run an API action with a busy flag; report the outcome through the announcer. */
export function useAction() {
  const announce = useAnnounce();
  const [busy, setBusy] = useState(false);
  const run = useCallback(
    async (fn, done) => {
      setBusy(true);
      try {
        const out = await fn();
        if (done) announce(typeof done === 'function' ? done(out) : done);
        return out;
      } catch (e) {
        announce(e.message || 'That did not work.', 'error');
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [announce],
  );
  return [busy, run];
}
