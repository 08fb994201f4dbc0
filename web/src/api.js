// The CloudSwarm API: every human action goes through here, never through a Firestore write.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

async function failure(res) {
  let code = `http_${res.status}`;
  let message = `${res.status} ${res.statusText}`.trim();
  try {
    const body = await res.json();
    if (body?.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
    }
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  return new ApiError(res.status, code, message);
}

/**
 * base: the API origin ("" for this origin); token(): the current JWT or null;
 * onUnauthorized(err): called on a 401 (the session is over).
 */
export function createApi(base, { token = () => null, onUnauthorized = () => {}, fetchImpl } = {}) {
  const doFetch = fetchImpl ?? ((...args) => fetch(...args));
  async function request(method, path, body, { as = 'json' } = {}) {
    const headers = { Accept: as === 'json' ? 'application/json' : '*/*' };
    const jwt = token();
    if (jwt) headers.Authorization = `Bearer ${jwt}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, 'network', `The API could not be reached (${e.message}).`);
    }
    if (!res.ok) {
      const err = await failure(res);
      if (res.status === 401 && jwt) onUnauthorized(err);
      throw err;
    }
    if (as === 'text') return res.text();
    // Bytes with their type (an artifact): the caller decides whether it is text to show.
    if (as === 'blob') return res.blob();
    if (res.status === 204) return null;
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }
  return {
    get: (path, opts) => request('GET', path, undefined, opts),
    post: (path, body = {}, opts) => request('POST', path, body, opts),
  };
}

const enc = encodeURIComponent;

/** The routes of the API contract, by name. */
export const routes = {
  token: '/api/auth/token',
  refresh: '/api/auth/refresh',
  revoke: '/api/auth/revoke',
  firebaseToken: '/api/auth/firebase-token',
  killSwitch: '/api/kill-switch',
  engage: '/api/kill-switch/engage',
  release: '/api/kill-switch/release',
  swarms: '/api/swarms',
  templates: '/api/templates',
  swarmAction: (sid, action) => `/api/swarms/${enc(sid)}/${action}`,
  message: (sid, aid) => `/api/swarms/${enc(sid)}/agents/${enc(aid)}/messages`,
  agentAction: (sid, aid, action) => `/api/swarms/${enc(sid)}/agents/${enc(aid)}/${action}`,
  transcript: (sid, aid) => `/api/swarms/${enc(sid)}/agents/${enc(aid)}/transcript`,
  decide: (sid, id, decision) => `/api/swarms/${enc(sid)}/approvals/${enc(id)}/${decision}`,
  usage: (sid) => `/api/swarms/${enc(sid)}/usage`,
  artifact: (sid, path, version) =>
    `/api/swarms/${enc(sid)}/artifacts/content?path=${enc(path)}${version ? `&version=${enc(version)}` : ''}`,
};
