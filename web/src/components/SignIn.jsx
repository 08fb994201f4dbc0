import { useId, useState } from 'react';
import { useSession } from '../live.js';
import { plainText } from '../logic/index.js';
import { Button, ErrorNote, fieldClass } from './ui.jsx';

export function SignIn() {
  const { session, phase, notice, error } = useSession();
  const [key, setKey] = useState('');
  const id = useId();
  const busy = phase === 'signing-in';
  return (
    <main className="flex min-h-screen items-center justify-center bg-slate-100 px-4">
      <form
        className="w-full max-w-sm rounded-lg bg-white p-6 shadow"
        onSubmit={(e) => {
          e.preventDefault();
          if (key.trim()) session.signIn(key.trim());
        }}
      >
        <h1 className="text-xl font-semibold text-slate-900">Sign in to CloudSwarm</h1>
        <p className="mt-1 text-sm text-slate-700">Watch your swarms live and steer them.</p>
        {notice && (
          <p role="status" className="mt-4 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="session-notice">
            {plainText(notice)}
          </p>
        )}
        <label htmlFor={id} className="mt-4 block text-sm font-medium text-slate-800">
          API key
        </label>
        <input
          id={id}
          name="api_key"
          type="password"
          autoComplete="current-password"
          required
          value={key}
          onChange={(e) => setKey(e.target.value)}
          className={fieldClass}
        />
        <p className="mt-1 text-xs text-slate-600">
          The key an admin gave you. It is exchanged for a session token; the key itself is not stored.
        </p>
        {error && <div className="mt-3"><ErrorNote>{error}</ErrorNote></div>}
        <Button type="submit" variant="primary" className="mt-4 w-full" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </Button>
      </form>
    </main>
  );
}
