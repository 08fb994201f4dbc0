// The runtime configuration, fetched from /config.json at start so one build serves any
// project: {project_id, api_base, firestore_emulator: {host, port} | null, firebase | null}.

export async function loadConfig(fetchImpl = fetch) {
  const res = await fetchImpl('/config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`/config.json answered ${res.status}: is the web server running?`);
  return normalizeConfig(await res.json());
}

export function normalizeConfig(raw) {
  const cfg = raw ?? {};
  if (!cfg.project_id) throw new Error('/config.json names no project_id');
  return {
    projectId: cfg.project_id,
    apiBase: String(cfg.api_base ?? '').replace(/\/+$/, ''),
    emulator: cfg.firestore_emulator ?? null,
    firebase: cfg.firebase ?? null,
  };
}
