// The activity timeline: an event's kind in words, and its group for filtering.

const KINDS = {
  swarm_started: ['Swarm started', 'swarm'],
  swarm_running: ['Swarm resumed', 'swarm'],
  swarm_paused: ['Swarm paused', 'swarm'],
  swarm_completed: ['Swarm completed', 'swarm'],
  swarm_failed: ['Swarm failed', 'swarm'],
  swarm_killed: ['Swarm stopped', 'swarm'],
  agent_spawned: ['Agent started', 'agents'],
  agent_failed: ['Agent failed', 'agents'],
  task_created: ['Task created', 'tasks'],
  task_claimed: ['Task claimed', 'tasks'],
  task_done: ['Task done', 'tasks'],
  task_updated: ['Task updated', 'tasks'],
  message: ['Message', 'messages'],
  approval_requested: ['Approval requested', 'approvals'],
  approval_approved: ['Approved', 'approvals'],
  approval_rejected: ['Rejected', 'approvals'],
  artifact_written: ['Artifact written', 'artifacts'],
  kill_switch_engaged: ['Kill switch engaged', 'swarm'],
  kill_switch_released: ['Kill switch released', 'swarm'],
};

export const EVENT_GROUPS = ['all', 'swarm', 'agents', 'tasks', 'messages', 'approvals', 'artifacts'];

export function describeEvent(event) {
  const [label, group] = KINDS[event?.kind] ?? [
    String(event?.kind ?? 'event').replaceAll('_', ' '),
    'other',
  ];
  return { label, group };
}

export function filterEvents(events, group) {
  if (!group || group === 'all') return events ?? [];
  return (events ?? []).filter((e) => describeEvent(e).group === group);
}
