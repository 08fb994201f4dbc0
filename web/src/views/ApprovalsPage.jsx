import { collectionGroup, query, where } from 'firebase/firestore';
import { Empty, ErrorNote, Loading } from '../components/ui.jsx';
import { newestFirst } from '../logic/index.js';
import { useLiveQuery } from '../live.js';
import { ApprovalList } from './Approvals.jsx';

export default function ApprovalsPage() {
  const pending = useLiveQuery((db) => query(collectionGroup(db, 'approvals'), where('status', '==', 'pending')), ['pending-approvals']);
  return (
    <div className="space-y-4">
      <div>
        <h1 className="text-2xl font-semibold">Approvals</h1>
        <p className="text-sm text-slate-700">Requests from agents of every swarm that wait for a human. The agent's turn ends until you decide; your decision and comment land in its inbox.</p>
      </div>
      <ErrorNote error={pending.error} />
      {pending.docs === null ? (
        <Loading what="Loading approvals" />
      ) : pending.docs.length === 0 ? (
        <Empty>Nothing waits for a decision.</Empty>
      ) : (
        <ApprovalList approvals={newestFirst(pending.docs, 'created_at')} showSwarm />
      )}
    </div>
  );
}
