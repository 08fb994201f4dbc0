import { describe, expect, it, vi } from 'vitest';
import { ApiError, createApi, routes } from './api.js';
import { normalizeConfig } from './config.js';
import { parseRoute, href } from './router.js';
import { createSession, isExpired, refreshAt } from './session.js';

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, v), removeItem: (k) => m.delete(k) };
}

function respond(status, body) {
  return { ok: status < 400, status, statusText: '', json: async () => body, text: async () => JSON.stringify(body) };
}

describe('routes', () => {
  it('parses every view and round-trips hrefs', () => {
    expect(parseRoute('')).toEqual({ name: 'swarms' });
    expect(parseRoute('#/approvals')).toEqual({ name: 'approvals' });
    expect(parseRoute(href.swarm('s-1'))).toEqual({ name: 'swarm', sid: 's-1', tab: 'overview' });
    expect(parseRoute(href.swarm('s-1', 'tasks'))).toEqual({ name: 'swarm', sid: 's-1', tab: 'tasks' });
    expect(parseRoute('#/swarms/s-1/nonsense')).toEqual({ name: 'swarm', sid: 's-1', tab: 'overview' });
    expect(parseRoute(href.agent('s-1', 'w 1', 'inbox'))).toEqual({ name: 'agent', sid: 's-1', aid: 'w 1', tab: 'inbox' });
    expect(parseRoute(`${href.agent('s-1', 'w1')}?turn=tu1&call=2`)).toEqual({ name: 'agent', sid: 's-1', aid: 'w1', tab: 'transcript', focus: { turn: 'tu1', call: 2 } });
    expect(parseRoute(href.swarm('s-1', 'timeline'))).toEqual({ name: 'swarm', sid: 's-1', tab: 'timeline' });
  });
});

describe('config', () => {
  it('needs a project id and trims the API base', () => {
    expect(() => normalizeConfig({})).toThrow(/project_id/);
    expect(normalizeConfig({ project_id: 'p', api_base: 'https://x/' })).toMatchObject({ projectId: 'p', apiBase: 'https://x', emulator: null });
  });
});

describe('api', () => {
  it('sends the JWT and JSON, and turns error bodies into ApiError', async () => {
    const fetchImpl = vi.fn(async () => respond(409, { error: { code: 'conflict', message: 'already approved' } }));
    const api = createApi('', { token: () => 'jwt', fetchImpl });
    await expect(api.post(routes.decide('s', 'a1', 'approve'), {})).rejects.toMatchObject({ name: 'ApiError', code: 'conflict', message: 'already approved', status: 409 });
    const [url, init] = fetchImpl.mock.calls[0];
    expect(url).toBe('/api/swarms/s/approvals/a1/approve');
    expect(init.headers.Authorization).toBe('Bearer jwt');
    expect(init.body).toBe('{}');
  });

  it('ends the session on a 401', async () => {
    const onUnauthorized = vi.fn();
    const api = createApi('', { token: () => 'jwt', onUnauthorized, fetchImpl: async () => respond(401, { error: { code: 'expired', message: 'token expired' } }) });
    await expect(api.get('/api/kill-switch')).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it('says when the API cannot be reached', async () => {
    const api = createApi('', { fetchImpl: async () => { throw new TypeError('Failed to fetch'); } });
    await expect(api.get('/api/swarms')).rejects.toMatchObject({ code: 'network' });
  });
});

describe('session', () => {
  it('knows an expired token in either format', () => {
    expect(isExpired('2000-01-01T00:00:00Z')).toBe(true);
    expect(isExpired(Date.now() / 1000 + 60)).toBe(false);
    expect(isExpired(undefined)).toBe(false);
  });

  it('signs in: API key -> JWT -> Firebase grant -> Firestore, and signs out', async () => {
    const calls = [];
    globalThis.fetch = vi.fn(async (url, init) => {
      calls.push([url, init.headers.Authorization]);
      if (url.endsWith('/auth/token')) return respond(200, { token: 'jwt', expires_at: Date.now() / 1000 + 3600, role: 'operator' });
      return respond(200, { project_id: 'p', emulator: true, mock_user_token: { sub: 'ann', role: 'operator' } });
    });
    const close = vi.fn(async () => {});
    const openFirestore = vi.fn(async () => ({ db: 'DB', close }));
    const storage = memoryStorage();
    const s = createSession({ apiBase: '', projectId: 'p' }, { storage, openFirestore });
    await s.signIn('key');
    expect(s.get()).toMatchObject({ phase: 'signed-in', role: 'operator', db: 'DB', subject: 'ann' });
    expect(calls).toEqual([['/api/auth/token', undefined], ['/api/auth/firebase-token', 'Bearer jwt']]);
    expect(openFirestore.mock.calls[0][1]).toMatchObject({ emulator: true });
    expect(JSON.parse(storage.getItem('cloudswarm.session')).token).toBe('jwt');
    await s.signOut();
    expect(s.get().phase).toBe('signed-out');
    expect(close).toHaveBeenCalled();
    expect(storage.getItem('cloudswarm.session')).toBeNull();
  });

  it('tells an expired stored session and returns to sign-in', async () => {
    const storage = memoryStorage();
    storage.setItem('cloudswarm.session', JSON.stringify({ token: 'old', expires_at: 1, role: 'viewer' }));
    const s = createSession({ apiBase: '' }, { storage, openFirestore: vi.fn() });
    await s.restore();
    expect(s.get()).toMatchObject({ phase: 'signed-out', notice: expect.stringMatching(/expired/) });
  });

  it('reports a refused key', async () => {
    globalThis.fetch = vi.fn(async () => respond(401, { error: { code: 'bad_key', message: 'unknown API key' } }));
    const s = createSession({ apiBase: '' }, { storage: memoryStorage(), openFirestore: vi.fn() });
    await s.signIn('nope');
    expect(s.get()).toMatchObject({ phase: 'signed-out', error: 'unknown API key' });
  });

  it('asks for the next token ahead of expiry, and never past the session\'s end', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const at = (s) => new Date(now + s * 1000).toISOString();
    // A 15-minute token of an 8-hour session: 5 minutes ahead (a third of 15, capped at 5).
    expect(refreshAt({ expires_at: at(900), session_expires_at: at(8 * 3600) }, now)).toBe(now + 600_000);
    // A token about to expire: at least 30 s ahead, and never in the past.
    expect(refreshAt({ expires_at: at(60), session_expires_at: at(3600) }, now)).toBe(now + 30_000);
    expect(refreshAt({ expires_at: at(10), session_expires_at: at(3600) }, now)).toBe(now);
    // The session's last token (it expires with the session), or a session of old: no refresh.
    expect(refreshAt({ expires_at: at(120), session_expires_at: at(120) }, now)).toBeNull();
    expect(refreshAt({ expires_at: at(900) }, now)).toBeNull();
  });
});

describe('a session across token expiry', () => {
  const T0 = Date.parse('2026-01-01T00:00:00Z');
  const iso = (s) => new Date(T0 + s * 1000).toISOString();

  function stack(refreshes) {
    const calls = [];
    globalThis.fetch = vi.fn(async (url, init) => {
      calls.push([url, init.headers.Authorization ?? null, init.body ?? null]);
      if (url.endsWith('/auth/token')) return respond(200, { token: 'jwt-0', expires_at: iso(900), role: 'operator', session_expires_at: iso(1500) });
      if (url.endsWith('/auth/refresh')) return refreshes.shift()();
      if (url.endsWith('/auth/revoke')) return respond(200, { jti: 'j', revoked: true });
      return respond(200, { project_id: 'p', emulator: true, mock_user_token: { sub: 'ann' } });
    });
    return calls;
  }

  async function signedIn(storage) {
    const close = vi.fn(async () => {});
    const s = createSession({ apiBase: '' }, { storage, openFirestore: vi.fn(async () => ({ db: 'DB', close })) });
    await s.signIn('csk_0123456789ab_secret');
    return { s, close };
  }

  it('stays signed in: each token is refreshed before it expires, until the session ends', async () => {
    vi.useFakeTimers({ now: T0 });
    try {
      const calls = stack([
        () => respond(200, { token: 'jwt-1', expires_at: iso(1500), role: 'operator', session_expires_at: iso(1500) }),
      ]);
      const storage = memoryStorage();
      const { s, close } = await signedIn(storage);
      expect(s.get()).toMatchObject({ phase: 'signed-in', token: 'jwt-0' });
      await vi.advanceTimersByTimeAsync(599_000);
      expect(calls.some(([u]) => u.endsWith('/auth/refresh'))).toBe(false);
      await vi.advanceTimersByTimeAsync(1_000); // 5 minutes before the first token expires
      expect(calls.at(-1)).toEqual(['/api/auth/refresh', 'Bearer jwt-0', '{}']);
      expect(s.get()).toMatchObject({ phase: 'signed-in', token: 'jwt-1', db: 'DB' });
      // What the tab keeps: the JWT, its expiry, the role and the session's end; never the key.
      const kept = JSON.parse(storage.getItem('cloudswarm.session'));
      expect(kept).toEqual({ token: 'jwt-1', expires_at: iso(1500), role: 'operator', session_expires_at: iso(1500) });
      expect(storage.getItem('cloudswarm.session')).not.toContain('csk_');
      // Past the first token's own expiry: still signed in on the second.
      await vi.advanceTimersByTimeAsync(400_000);
      expect(s.get().phase).toBe('signed-in');
      // jwt-1 is the session's last token: no refresh; at its expiry the session says so.
      await vi.advanceTimersByTimeAsync(499_000);
      expect(s.get().phase).toBe('signed-in');
      await vi.advanceTimersByTimeAsync(1_000);
      expect(s.get()).toMatchObject({ phase: 'signed-out', notice: expect.stringMatching(/expired/) });
      expect(close).toHaveBeenCalled();
      expect(storage.getItem('cloudswarm.session')).toBeNull();
      expect(calls.filter(([u]) => u.endsWith('/auth/refresh'))).toHaveLength(1);
      expect(calls.some(([u]) => u.endsWith('/auth/revoke'))).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('says the session expired when the API refuses the refresh, and retries a network failure', async () => {
    vi.useFakeTimers({ now: T0 });
    try {
      const calls = stack([
        () => {
          throw new TypeError('offline');
        },
        () => respond(401, { error: { code: 'unauthorized', message: 'this session reached its maximum lifetime' } }),
      ]);
      const { s } = await signedIn(memoryStorage());
      await vi.advanceTimersByTimeAsync(600_000);
      expect(s.get()).toMatchObject({ phase: 'signed-in', token: 'jwt-0' }); // offline: kept, retried
      await vi.advanceTimersByTimeAsync(15_000);
      expect(calls.filter(([u]) => u.endsWith('/auth/refresh'))).toHaveLength(2);
      expect(s.get()).toMatchObject({ phase: 'signed-out', notice: expect.stringMatching(/expired/) });
    } finally {
      vi.useRealTimers();
    }
  });

  it('revokes its token when the user signs out, so no copy of it can be refreshed', async () => {
    const calls = stack([]);
    const { s } = await signedIn(memoryStorage());
    await s.signOut();
    await vi.waitFor(() => expect(calls.at(-1)).toEqual(['/api/auth/revoke', 'Bearer jwt-0', '{}']));
    expect(s.get()).toMatchObject({ phase: 'signed-out', notice: null });
  });
});
