// Statuses as the backend writes them (shared/cloudswarm/core/models.py), with the words and
// colours the UI gives them. Colour is never the only signal: every badge carries its label.

const TONES = {
  green: 'bg-emerald-100 text-emerald-900 ring-emerald-700/30',
  blue: 'bg-sky-100 text-sky-900 ring-sky-700/30',
  amber: 'bg-amber-100 text-amber-900 ring-amber-700/30',
  red: 'bg-red-100 text-red-900 ring-red-700/30',
  gray: 'bg-slate-100 text-slate-800 ring-slate-700/20',
  violet: 'bg-violet-100 text-violet-900 ring-violet-700/30',
};

export const SWARM_STATUS = {
  running: { label: 'Running', tone: 'green' },
  paused: { label: 'Paused', tone: 'amber' },
  completed: { label: 'Completed', tone: 'blue' },
  failed: { label: 'Failed', tone: 'red' },
  killed: { label: 'Killed', tone: 'red' },
};

export const AGENT_STATUS = {
  idle: { label: 'Idle', tone: 'gray' },
  running: { label: 'Working', tone: 'green' },
  waiting_approval: { label: 'Waiting for approval', tone: 'violet' },
  paused: { label: 'Paused', tone: 'amber' },
  stopped: { label: 'Stopped', tone: 'gray' },
  failed: { label: 'Failed', tone: 'red' },
};

export const TASK_STATUS = {
  blocked: { label: 'Blocked', tone: 'gray' },
  ready: { label: 'Ready', tone: 'blue' },
  in_progress: { label: 'In progress', tone: 'amber' },
  done: { label: 'Done', tone: 'green' },
  cancelled: { label: 'Cancelled', tone: 'gray' },
};

export const APPROVAL_STATUS = {
  pending: { label: 'Pending', tone: 'violet' },
  approved: { label: 'Approved', tone: 'green' },
  rejected: { label: 'Rejected', tone: 'red' },
};

export const TERMINAL_SWARM = new Set(['completed', 'failed', 'killed']);

/** Node fill colours for the agent graph (SVG), by agent status. */
export const AGENT_FILL = {
  idle: '#e2e8f0',
  running: '#34d399',
  waiting_approval: '#c4b5fd',
  paused: '#fcd34d',
  stopped: '#cbd5e1',
  failed: '#fca5a5',
};

export function statusMeta(table, status) {
  const meta = table[status] ?? { label: String(status ?? 'unknown'), tone: 'gray' };
  return { ...meta, className: TONES[meta.tone] };
}

/** What a human may do to a swarm in this status (the API enforces it again). */
export function swarmActions(status) {
  if (status === 'running') return ['pause', 'stop'];
  if (status === 'paused') return ['resume', 'stop'];
  return [];
}

/** What a human may do to one agent in this status (the API enforces it again). */
export function agentActions(status) {
  if (status === 'paused') return ['resume'];
  if (['idle', 'running', 'waiting_approval'].includes(status)) return ['pause'];
  return [];
}

const OPERATOR = new Set(['admin', 'operator']);

/** Role checks for showing controls; the API is the authority. */
export const can = {
  steer: (role) => OPERATOR.has(role), // start, pause, resume, stop, message, approve
  engageKill: (role) => OPERATOR.has(role),
  releaseKill: (role) => role === 'admin',
  readAudit: (role) => OPERATOR.has(role),
};
