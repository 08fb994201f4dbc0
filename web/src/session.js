// The signed-in session: API key -> JWT (API) -> Firebase grant (API) -> Firestore.
// Kept in sessionStorage (this tab only) so a reload stays signed in until the JWT expires.
import { createApi, routes } from './api.js';
import { toDate } from './logic/format.js';

const KEY = 'cloudswarm.session';

/** When a JWT expires, as epoch ms (expires_at may be ISO text or epoch seconds). */
export function expiryMillis(expiresAt) {
  const d = toDate(expiresAt);
  return d ? d.getTime() : null;
}

export function isExpired(expiresAt, now = Date.now()) {
  const t = expiryMillis(expiresAt);
  return t != null && t <= now;
}

export function createSession(config, { storage = window.sessionStorage, openFirestore } = {}) {
  let state = { phase: 'signed-out', notice: null };
  let firestore = null;
  let timer = null;
  const listeners = new Set();

  const set = (next) => {
    state = next;
    for (const l of listeners) l();
  };
  const api = createApi(config.apiBase, {
    token: () => state.token ?? null,
    onUnauthorized: () => signOut('Your session has expired. Sign in again.'),
  });

  async function connect(saved) {
    const grant = await api.post(routes.firebaseToken, {});
    firestore = await openFirestore(config, grant);
    clearTimeout(timer);
    const left = expiryMillis(saved.expires_at);
    if (left != null) {
      // setTimeout counts in 32-bit ms: cap the wait, and re-check when it fires.
      const wait = Math.min(Math.max(0, left - Date.now()), 2 ** 31 - 1);
      timer = setTimeout(() => {
        if (isExpired(saved.expires_at)) signOut('Your session has expired. Sign in again.');
      }, wait);
    }
    set({ phase: 'signed-in', notice: null, ...saved, db: firestore.db, subject: grant.mock_user_token?.name ?? grant.mock_user_token?.sub ?? null });
  }

  async function signIn(apiKey) {
    set({ phase: 'signing-in', notice: null });
    try {
      const t = await createApi(config.apiBase).post(routes.token, { api_key: apiKey });
      const saved = { token: t.token, expires_at: t.expires_at, role: t.role };
      state = { ...state, ...saved };
      await connect(saved);
      storage.setItem(KEY, JSON.stringify(saved));
    } catch (e) {
      set({ phase: 'signed-out', notice: null, error: e.message });
    }
  }

  async function restore() {
    let saved = null;
    try {
      saved = JSON.parse(storage.getItem(KEY) ?? 'null');
    } catch {
      saved = null;
    }
    if (!saved?.token) return;
    if (isExpired(saved.expires_at)) {
      storage.removeItem(KEY);
      set({ phase: 'signed-out', notice: 'Your session has expired. Sign in again.' });
      return;
    }
    set({ phase: 'signing-in', notice: null, ...saved });
    try {
      await connect(saved);
    } catch (e) {
      storage.removeItem(KEY);
      set({ phase: 'signed-out', notice: null, error: e.message });
    }
  }

  async function signOut(notice = null) {
    clearTimeout(timer);
    storage.removeItem(KEY);
    const closing = firestore;
    firestore = null;
    set({ phase: 'signed-out', notice });
    await closing?.close();
  }

  return {
    api,
    get: () => state,
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    signIn,
    signOut,
    restore,
  };
}
