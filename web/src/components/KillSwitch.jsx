// The global kill switch: its state on every page, engage (with a reason, confirmed) and
// release (admins only). The switch changes through the API; Firestore only tells us its state.
import { doc } from 'firebase/firestore';
import { useId, useState } from 'react';
import { routes } from '../api.js';
import { ago, can, clock } from '../logic/index.js';
import { useLiveDoc, useNow, useSession } from '../live.js';
import { Button, Dialog, ErrorNote, fieldClass, useAction } from './ui.jsx';

export function useKillSwitch() {
  const { doc: ks, error } = useLiveDoc((db) => doc(db, 'control', 'kill_switch'), ['kill_switch']);
  return { ks, engaged: Boolean(ks?.engaged), loading: ks === undefined, error };
}

export function KillSwitchControl() {
  const { role } = useSession();
  const { engaged, loading } = useKillSwitch();
  const [open, setOpen] = useState(null);
  if (loading) return null;
  return (
    <>
      <span
        className={`rounded-full px-2 py-0.5 text-xs font-semibold ${engaged ? 'bg-red-600 text-white' : 'bg-emerald-200 text-emerald-950'}`}
        data-testid="kill-state"
        data-engaged={engaged}
      >
        Kill switch: {engaged ? 'ENGAGED' : 'off'}
      </span>
      {!engaged && can.engageKill(role) && (
        <Button variant="danger" className="min-h-8 px-2 py-1" onClick={() => setOpen('engage')}>
          Stop everything
        </Button>
      )}
      {engaged && can.releaseKill(role) && (
        <Button className="min-h-8 px-2 py-1" onClick={() => setOpen('release')}>
          Release
        </Button>
      )}
      {open && <KillSwitchDialog mode={open} onClose={() => setOpen(null)} />}
    </>
  );
}

export function KillSwitchBanner() {
  const { ks, engaged, error } = useKillSwitch();
  const now = useNow(10000);
  if (error) return <div className="mx-auto max-w-7xl px-3 pt-3 sm:px-6"><ErrorNote error={error} /></div>;
  if (!engaged) return null;
  return (
    <div role="alert" className="border-b border-red-800 bg-red-700 text-white" data-testid="kill-banner">
      <div className="mx-auto max-w-7xl px-3 py-2 text-sm sm:px-6">
        <strong className="font-semibold">Kill switch engaged</strong> by {ks.actor || 'unknown'}{' '}
        <time dateTime={ks.at?.toDate?.().toISOString?.()} title={clock(ks.at)}>
          {ago(ks.at, now)}
        </time>
        : “{ks.reason}”. No agent of any swarm calls the model until an admin releases it; messages
        wait in the inboxes.
      </div>
    </div>
  );
}

function KillSwitchDialog({ mode, onClose }) {
  const { session } = useSession();
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [busy, run] = useAction();
  const id = useId();
  const engage = mode === 'engage';
  async function submit(e) {
    e.preventDefault();
    if (!reason.trim()) return;
    if (engage && !confirming) {
      setConfirming(true);
      return;
    }
    const ok = await run(
      () => session.api.post(engage ? routes.engage : routes.release, { reason: reason.trim() }),
      engage ? 'Kill switch engaged: every agent stops.' : 'Kill switch released: agents with mail resume.',
    );
    if (ok !== undefined) onClose();
  }
  return (
    <Dialog title={engage ? 'Engage the kill switch' : 'Release the kill switch'} onClose={onClose}>
      <form onSubmit={submit} className="text-slate-900">
        {!confirming ? (
          <>
            <p className="text-sm text-slate-700">
              {engage
                ? 'Every agent in every swarm stops calling the model at once; calls in flight are aborted. Nothing is lost: messages wait in the inboxes.'
                : 'Agents with pending mail resume. This is recorded with your name and reason.'}
            </p>
            <label htmlFor={id} className="mt-3 block text-sm font-medium">
              Reason (recorded in the audit log)
            </label>
            <textarea id={id} required rows={3} value={reason} onChange={(e) => setReason(e.target.value)} className={fieldClass} autoFocus />
          </>
        ) : (
          <p className="text-sm" data-testid="kill-confirm-text">
            Engage the kill switch now, for “{reason.trim()}”? Only an admin can release it.
          </p>
        )}
        <div className="mt-4 flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant={engage ? 'danger' : 'primary'} disabled={busy || !reason.trim()}>
            {engage ? (confirming ? 'Yes, engage the kill switch' : 'Continue') : 'Release the kill switch'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
