// What started a swarm, read from the `created_by` each entry point writes: `schedule:NAME` (a
// scheduled fire), `webhook:NAME` (a signed webhook), `pubsub:WHO` (a swarm-requests message),
// `NAME#KEY_ID` (the API, from the UI, the CLI or a script). Anything else (the demo, a test)
// calls the service directly. Plain text out: the view renders it as text, never as HTML.
const PREFIXED = { schedule: 'Schedule', webhook: 'Webhook', pubsub: 'Pub/Sub' };

export function swarmOrigin(createdBy) {
  const s = typeof createdBy === 'string' ? createdBy : '';
  const colon = s.indexOf(':');
  const kind = colon > 0 ? s.slice(0, colon) : '';
  if (Object.hasOwn(PREFIXED, kind)) return { kind, label: PREFIXED[kind], detail: s.slice(colon + 1) };
  const hash = s.lastIndexOf('#');
  if (hash > 0) return { kind: 'api', label: 'API', detail: s.slice(0, hash) };
  return { kind: 'other', label: s ? 'Other' : 'Unknown', detail: s };
}
