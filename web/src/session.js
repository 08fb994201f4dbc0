// The signed-in session: API key -> JWT (API) -> Firebase grant (API) -> Firestore.
// Kept in sessionStorage (this tab only) so a reload stays signed in while the JWT lives. The
// API key is never kept: before the JWT expires it is exchanged for the session's next one
// (POST /api/auth/refresh), until the session's absolute end that the API enforces
// (session_expires_at); then the UI says the session expired and asks for the key again.
import { createApi, routes } from './api.js';
import { toDate } from './logic/format.js';

const KEY = 'cloudswarm.session';
const EXPIRED = 'Your session has expired. Sign in again.';
const RETRY_MS = 15_000; // a refresh that failed (network) is tried again while the JWT lives

/**
 * When to ask for the next token: a third of the token's remaining life before it expires,
 * between 30 s and 5 min ahead (a background tab's timers may fire a minute late), or never
 * when this token is the session's last (it expires with the session).
 */
export function refreshAt(saved, now = Date.now()) {
  const exp = expiryMillis(saved?.expires_at);
  const end = expiryMillis(saved?.session_expires_at);
  if (exp == null || end == null || end <= exp) return null;
  const ahead = Math.min(300_000, Math.max(30_000, (exp - now) / 3));
  return Math.max(now, exp - ahead);
}

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
    onUnauthorized: () => signOut(EXPIRED),
  });

  // setTimeout counts in 32-bit ms: cap the wait; whoever fires re-checks the time.
  const at = (when, fn) => {
    clearTimeout(timer);
    timer = setTimeout(fn, Math.min(Math.max(0, when - Date.now()), 2 ** 31 - 1));
  };

  /** The next timer: refresh the token ahead of its expiry, or end the session at it. */
  function schedule(saved) {
    const next = refreshAt(saved);
    const exp = expiryMillis(saved.expires_at);
    if (next != null) at(next, () => refresh(saved));
    else if (exp != null) at(exp, () => (isExpired(saved.expires_at) ? signOut(EXPIRED) : schedule(saved)));
  }

  async function refresh(saved) {
    if (state.token !== saved.token) return; // signed out, or already refreshed
    if (isExpired(saved.expires_at)) return signOut(EXPIRED);
    let t;
    try {
      t = await api.post(routes.refresh, {});
    } catch (e) {
      // A 401 (the session's end, a revoked key or token) has signed out already.
      if (e.status !== 401 && state.token === saved.token) at(Date.now() + RETRY_MS, () => refresh(saved));
      return;
    }
    if (state.token !== saved.token) return;
    const next = { token: t.token, expires_at: t.expires_at, role: t.role, session_expires_at: t.session_expires_at };
    storage.setItem(KEY, JSON.stringify(next));
    set({ ...state, ...next });
    schedule(next);
  }

  async function connect(saved) {
    const grant = await api.post(routes.firebaseToken, {});
    firestore = await openFirestore(config, grant);
    schedule(saved);
    set({ phase: 'signed-in', notice: null, ...saved, db: firestore.db, subject: grant.mock_user_token?.name ?? grant.mock_user_token?.sub ?? null });
  }

  async function signIn(apiKey) {
    set({ phase: 'signing-in', notice: null });
    try {
      const t = await createApi(config.apiBase).post(routes.token, { api_key: apiKey });
      const saved = { token: t.token, expires_at: t.expires_at, role: t.role, session_expires_at: t.session_expires_at };
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
      set({ phase: 'signed-out', notice: EXPIRED });
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
    const { token } = state;
    const closing = firestore;
    firestore = null;
    set({ phase: 'signed-out', notice });
    // Signing out on purpose revokes the token, so a copy of it cannot be refreshed; a
    // session that ended (a 401) has nothing left to revoke. Best effort: we are out anyway.
    if (notice == null && token) {
      const bare = createApi(config.apiBase, { token: () => token });
      bare.post(routes.revoke, {}).catch(() => {});
    }
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
