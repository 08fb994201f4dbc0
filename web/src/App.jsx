import { lazy, Suspense } from 'react';
import { AnnounceProvider, Loading } from './components/ui.jsx';
import { Header } from './components/Header.jsx';
import { KillSwitchBanner } from './components/KillSwitch.jsx';
import { SignIn } from './components/SignIn.jsx';
import { SessionContext, useSession } from './live.js';
import { useRoute } from './router.js';
import { SwarmList } from './views/SwarmList.jsx';
import { SwarmView } from './views/SwarmView.jsx';

// Less-visited views load on demand; the list and a swarm are in the main bundle.
const AgentView = lazy(() => import('./views/AgentView.jsx'));
const ApprovalsPage = lazy(() => import('./views/ApprovalsPage.jsx'));

export function App({ session }) {
  return (
    <SessionContext.Provider value={session}>
      <AnnounceProvider>
        <Shell />
      </AnnounceProvider>
    </SessionContext.Provider>
  );
}

function Shell() {
  const { phase } = useSession();
  if (phase !== 'signed-in') return <SignIn />;
  return (
    <div className="min-h-screen bg-slate-50 text-slate-900">
      <a href="#main" onClick={skip} className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2">
        Skip to content
      </a>
      <Header />
      <KillSwitchBanner />
      <main id="main" tabIndex={-1} className="mx-auto max-w-7xl px-3 py-4 sm:px-6">
        <Suspense fallback={<Loading />}>
          <Page />
        </Suspense>
      </main>
    </div>
  );
}

// The app routes with the hash, so the skip link moves focus instead of navigating.
function skip(e) {
  e.preventDefault();
  document.getElementById('main')?.focus();
}

function Page() {
  const route = useRoute();
  switch (route.name) {
    case 'swarm':
      return <SwarmView key={route.sid} sid={route.sid} tab={route.tab} />;
    case 'agent':
      return <AgentView key={`${route.sid}/${route.aid}`} sid={route.sid} aid={route.aid} tab={route.tab} focus={route.focus} />;
    case 'approvals':
      return <ApprovalsPage />;
    default:
      return <SwarmList />;
  }
}
