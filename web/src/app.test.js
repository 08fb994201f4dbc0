import { describe, expect, it, vi } from 'vitest';
import { ApiError, createApi, routes } from './api.js';
import { normalizeConfig } from './config.js';
import { parseRoute, href } from './router.js';
import { createSession, isExpired } from './session.js';

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
});
