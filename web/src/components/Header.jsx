import { collectionGroup, query, where } from 'firebase/firestore';
import { useLiveQuery, useSession } from '../live.js';
import { plainText } from '../logic/index.js';
import { href, useRoute } from '../router.js';
import { KillSwitchControl } from './KillSwitch.jsx';

export function Header() {
  const { session, role, subject } = useSession();
  const route = useRoute();
  const pending = useLiveQuery((db) => query(collectionGroup(db, 'approvals'), where('status', '==', 'pending')), ['pending-approvals']);
  const n = pending.docs?.length ?? 0;
  const link = (active) =>
    `rounded-md px-2 py-1 text-sm font-medium ${active ? 'bg-slate-700 text-white' : 'text-slate-200 hover:bg-slate-800 hover:text-white'}`;
  return (
    <header className="bg-slate-900 text-white">
      <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-4 gap-y-2 px-3 py-2 sm:px-6">
        <a href={href.swarms()} className="text-base font-semibold tracking-tight">
          CloudSwarm
        </a>
        <nav aria-label="Main" className="flex items-center gap-1">
          <a href={href.swarms()} className={link(route.name === 'swarms')} aria-current={route.name === 'swarms' ? 'page' : undefined}>
            Swarms
          </a>
          <a href={href.approvals()} className={link(route.name === 'approvals')} aria-current={route.name === 'approvals' ? 'page' : undefined}>
            Approvals
            {n > 0 && (
              <span className="ml-1 rounded-full bg-violet-300 px-1.5 text-xs font-semibold text-violet-950" data-testid="pending-count">
                {n}
                <span className="sr-only"> pending</span>
              </span>
            )}
          </a>
        </nav>
        <div className="ml-auto flex flex-wrap items-center gap-2">
          <KillSwitchControl />
          <span className="text-xs text-slate-300" data-testid="role">
            {subject ? `${plainText(subject)} · ` : ''}
            {role}
          </span>
          <button type="button" onClick={() => session.signOut()} className="rounded-md px-2 py-1 text-sm text-slate-200 underline-offset-2 hover:underline">
            Sign out
          </button>
        </div>
      </div>
    </header>
  );
}
