// Swarm-level figures from the documents the backend writes (docs/architecture.md).
import { fraction, millis } from './format.js';

const USAGE_KEYS = ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens'];

export function agentTokens(agent) {
  const u = agent?.usage ?? {};
  return USAGE_KEYS.reduce((sum, k) => sum + (Number(u[k]) || 0), 0);
}

export function agentCost(agent) {
  return Number(agent?.usage?.cost_usd) || 0;
}

/** Sum of the agents' usage: the swarm document is not written on every call, agents are. */
export function totalUsage(agents) {
  const total = { cost_usd: 0, tokens: 0, turns: 0 };
  for (const k of USAGE_KEYS) total[k] = 0;
  for (const a of agents ?? []) {
    total.cost_usd += agentCost(a);
    total.tokens += agentTokens(a);
    total.turns += Number(a.turns) || 0;
    for (const k of USAGE_KEYS) total[k] += Number(a.usage?.[k]) || 0;
  }
  return total;
}

export function countBy(items, key) {
  const out = {};
  for (const it of items ?? []) {
    const v = typeof key === 'function' ? key(it) : it?.[key];
    out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

/**
 * What the swarm's agents were handed from its budget in advance (USD): the sum of their
 * allowances. The swarm document's own `granted` is not kept up to date (grants are counted in
 * budget shards the UI does not read, so that agents do not all write one document); it is read
 * only when the agents are not at hand.
 */
export function reservedUsd(swarm, agents) {
  if (!agents) return Number(swarm?.granted?.usd) || 0;
  return agents.reduce((sum, a) => sum + (Number(a.allowance?.usd) || 0), 0);
}

/** Everything a swarm row or header shows. */
export function swarmSummary(swarm, agents) {
  const budget = swarm?.budget ?? {};
  const usage = totalUsage(agents);
  const taskTotal = Number(swarm?.task_count) || 0;
  const tasksDone = Number(swarm?.tasks_done) || 0;
  return {
    status: swarm?.status ?? 'unknown',
    agentCount: agents ? agents.length : Number(swarm?.agent_count) || 0,
    agentsByStatus: countBy(agents, 'status'),
    taskTotal,
    tasksDone,
    taskFraction: taskTotal ? tasksDone / taskTotal : null,
    spentUsd: usage.cost_usd,
    budgetUsd: budget.usd ?? null,
    spendFraction: fraction(usage.cost_usd, budget.usd),
    reservedUsd: reservedUsd(swarm, agents),
    tokens: usage.tokens,
    budgetTokens: budget.tokens ?? null,
    tokenFraction: fraction(usage.tokens, budget.tokens),
    turns: usage.turns,
    budgetTurns: budget.turns ?? null,
  };
}

/** Agents in a stable, readable order: the lead first, then by creation, then by name. */
export function sortAgents(agents) {
  return [...(agents ?? [])].sort((a, b) => {
    if ((a.role === 'lead') !== (b.role === 'lead')) return a.role === 'lead' ? -1 : 1;
    return millis(a.created_at) - millis(b.created_at) || String(a.id).localeCompare(String(b.id));
  });
}

/** Newest first, by a timestamp field; documents whose server timestamp is pending go first. */
export function newestFirst(docs, field) {
  return [...(docs ?? [])].sort((a, b) => (millis(b[field]) || Infinity) - (millis(a[field]) || Infinity));
}

/** Who sent a message, in words: agents by id, humans by name, the system as "system". */
export function senderLabel(from) {
  const s = String(from ?? '');
  if (s.startsWith('human:')) return `${s.slice(6)} (human)`;
  return s || 'unknown';
}
