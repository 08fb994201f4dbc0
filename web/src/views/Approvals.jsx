import { useId, useState } from 'react';
import { routes } from '../api.js';
import { APPROVAL_STATUS, ago, can, clock, plainText } from '../logic/index.js';
import { Badge, Button, Empty, fieldClass, useAction } from '../components/ui.jsx';
import { useNow, useSession } from '../live.js';
import { href } from '../router.js';

export function Approvals({ sid, approvals }) {
  const pending = approvals.filter((a) => a.status === 'pending');
  const decided = approvals.filter((a) => a.status !== 'pending');
  return (
    <div className="space-y-4">
      <h2 className="text-base font-semibold">Waiting for a decision ({pending.length})</h2>
      {pending.length === 0 ? <Empty>Nothing waits for a human.</Empty> : <ApprovalList approvals={pending} sid={sid} />}
      {decided.length > 0 && (
        <>
          <h2 className="text-base font-semibold">Decided</h2>
          <ApprovalList approvals={decided} sid={sid} />
        </>
      )}
    </div>
  );
}

export function ApprovalList({ approvals, sid, showSwarm = false }) {
  const now = useNow(10000);
  return (
    <ul className="space-y-3" data-testid="approval-list">
      {approvals.map((a) => (
        <li key={`${a._swarm ?? sid}/${a.id}`}>
          <ApprovalCard approval={a} sid={a._swarm ?? sid} showSwarm={showSwarm} now={now} />
        </li>
      ))}
    </ul>
  );
}

// An external (MCP) call held for the decision, shown whole: approving runs exactly this.
function ExternalCall({ call }) {
  return (
    <div className="mt-2 rounded-md border border-amber-200 bg-amber-50 p-2" data-testid="external-call">
      <p className="text-xs text-amber-950">
        External call on MCP server <strong>{call.server}</strong>: tool <code>{call.tool}</code>. Approving runs
        this call once, with exactly these arguments, when the agent next wakes; rejecting sends nothing.
      </p>
      <pre className="mt-1 max-h-64 overflow-auto whitespace-pre-wrap break-words text-xs text-slate-900">
        {plainText(JSON.stringify(call.arguments ?? {}, null, 2))}
      </pre>
    </div>
  );
}

function ApprovalCard({ approval: a, sid, showSwarm, now }) {
  const { session, role } = useSession();
  const [comment, setComment] = useState('');
  const [busy, run] = useAction();
  const id = useId();
  const decide = (decision) =>
    run(
      () => session.api.post(routes.decide(sid, a.id, decision), comment.trim() ? { comment: comment.trim() } : {}),
      decision === 'approve' ? `Approved: ${a.action}` : `Rejected: ${a.action}`,
    );
  return (
    <article className="rounded-lg border border-slate-200 bg-white p-3 text-sm" data-testid="approval" data-swarm={sid} data-approval={a.id} data-status={a.status} aria-labelledby={`${id}-t`}>
      <div className="flex flex-wrap items-start justify-between gap-2">
        <h3 id={`${id}-t`} className="font-semibold break-words">
          <a className="text-sky-800 underline-offset-2 hover:underline" href={href.agent(sid, a.agent_id)}>
            {a.agent_id}
          </a>{' '}
          asks to: {a.action}
        </h3>
        <Badge table={APPROVAL_STATUS} status={a.status} />
      </div>
      {showSwarm && (
        <p className="text-xs text-slate-600">
          in swarm <a className="underline" href={href.swarm(sid, 'approvals')}>{sid}</a>
        </p>
      )}
      {a.call ? <ExternalCall call={a.call} /> : <p className="mt-1 whitespace-pre-wrap break-words text-slate-800">{a.detail}</p>}
      <p className="mt-1 text-xs text-slate-600">
        asked <time title={clock(a.created_at)}>{ago(a.created_at, now)}</time>
        {a.decided_by && ` · ${a.status} by ${a.decided_by}`}
        {a.comment && ` · “${a.comment}”`}
      </p>
      {a.status === 'pending' && can.steer(role) && (
        <div className="mt-2 flex flex-wrap items-end gap-2">
          <div className="min-w-48 flex-1">
            <label htmlFor={id} className="text-xs font-medium text-slate-700">
              Comment for the agent (optional)
            </label>
            <input id={id} value={comment} onChange={(e) => setComment(e.target.value)} className={`${fieldClass} mt-0 py-1.5`} />
          </div>
          <Button variant="primary" disabled={busy} onClick={() => decide('approve')}>
            Approve
          </Button>
          <Button variant="danger" disabled={busy} onClick={() => decide('reject')}>
            Reject
          </Button>
        </div>
      )}
    </article>
  );
}
