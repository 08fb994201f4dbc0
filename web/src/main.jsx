import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './index.css';
import { App } from './App.jsx';
import { loadConfig } from './config.js';
import { openFirestore } from './firebase.js';
import { createSession } from './session.js';

const root = createRoot(document.getElementById('root'));

loadConfig()
  .then((config) => {
    const session = createSession(config, { openFirestore });
    root.render(
      <StrictMode>
        <App session={session} />
      </StrictMode>,
    );
    return session.restore();
  })
  .catch((e) => {
    root.render(
      <main className="mx-auto max-w-xl p-6">
        <h1 className="text-xl font-semibold">CloudSwarm cannot start</h1>
        <p role="alert" className="mt-2 text-red-900">
          {e.message}
        </p>
      </main>,
    );
  });
