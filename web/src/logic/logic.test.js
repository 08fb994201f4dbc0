import { describe, expect, it } from 'vitest';
import {
  agentActions,
  ago,
  can,
  COLUMNS,
  count,
  dependencyLevels,
  dependents,
  describeEvent,
  edgePath,
  filterEvents,
  filterTasks,
  plainDeep,
  plainText,
  fraction,
  groupByStatus,
  layoutAgents,
  messageEdges,
  newestFirst,
  senderLabel,
  sortAgents,
  statusMeta,
  SWARM_STATUS,
  swarmActions,
  swarmSummary,
  toDate,
  totalUsage,
  usd,
} from './index.js';

const ts = (ms) => ({ toDate: () => new Date(ms) }); // a Firestore Timestamp's shape

describe('format', () => {
  it('reads Firestore timestamps, dates, ISO text and epoch seconds or ms', () => {
    expect(toDate(ts(1000)).getTime()).toBe(1000);
    expect(toDate('2025-01-02T03:04:05Z').toISOString()).toBe('2025-01-02T03:04:05.000Z');
    expect(toDate(1_700_000_000).getTime()).toBe(1_700_000_000_000);
    expect(toDate(1_700_000_000_000).getTime()).toBe(1_700_000_000_000);
    expect(toDate(null)).toBeNull();
    expect(toDate('not a date')).toBeNull();
  });

  it('formats money so that small model calls stay visible', () => {
    expect(usd(0)).toBe('$0.00');
    expect(usd(0.0012)).toBe('$0.0012');
    expect(usd(1.5)).toBe('$1.50');
    expect(usd(1234.4)).toBe('$1,234');
  });

  it('formats counts and ages', () => {
    expect(count(999)).toBe('999');
    expect(count(1500)).toBe('1.5k');
    expect(count(2_500_000)).toBe('2.5M');
    expect(ago(ts(0), 30_000)).toBe('30 s ago');
    expect(ago(ts(0), 2 * 60_000)).toBe('2 min ago');
    expect(ago(ts(0), 1000)).toBe('just now');
  });

  it('gives a fraction only when there is a cap, clamped to 0..1', () => {
    expect(fraction(5, null)).toBeNull();
    expect(fraction(5, 0)).toBeNull();
    expect(fraction(5, 10)).toBe(0.5);
    expect(fraction(50, 10)).toBe(1);
  });
});

describe('statuses and roles', () => {
  it('labels every swarm status and falls back for unknown ones', () => {
    expect(statusMeta(SWARM_STATUS, 'running').label).toBe('Running');
    expect(statusMeta(SWARM_STATUS, 'weird').label).toBe('weird');
  });

  it('offers the moves the swarm state machine allows', () => {
    expect(swarmActions('running')).toEqual(['pause', 'stop']);
    expect(swarmActions('paused')).toEqual(['resume', 'stop']);
    expect(swarmActions('completed')).toEqual([]);
    expect(swarmActions('killed')).toEqual([]);
  });

  it('offers one agent the moves its state machine allows', () => {
    expect(agentActions('idle')).toEqual(['pause']);
    expect(agentActions('running')).toEqual(['pause']);
    expect(agentActions('waiting_approval')).toEqual(['pause']);
    expect(agentActions('paused')).toEqual(['resume']);
    expect(agentActions('stopped')).toEqual([]);
    expect(agentActions('failed')).toEqual([]);
  });

  it('shows steering to operators and admins, release to admins only', () => {
    expect(can.steer('viewer')).toBe(false);
    expect(can.steer('operator')).toBe(true);
    expect(can.engageKill('operator')).toBe(true);
    expect(can.releaseKill('operator')).toBe(false);
    expect(can.releaseKill('admin')).toBe(true);
  });
});

describe('swarm summary', () => {
  const agents = [
    { id: 'lead', role: 'lead', status: 'running', turns: 3, allowance: { usd: 0.75 }, usage: { input_tokens: 100, output_tokens: 50, cache_read_tokens: 10, cache_write_tokens: 0, cost_usd: 0.5 } },
    { id: 'w1', role: 'teammate', status: 'idle', turns: 1, allowance: { usd: 0.25 }, usage: { input_tokens: 10, output_tokens: 5, cost_usd: 0.25 } },
  ];

  it('sums spend and tokens over the agents', () => {
    const u = totalUsage(agents);
    expect(u.cost_usd).toBeCloseTo(0.75);
    expect(u.tokens).toBe(175);
    expect(u.turns).toBe(4);
  });

  it('reports tasks done of total and spend against the budget', () => {
    // The swarm document's own granted is stale (budget shards count grants): the agents' allowances say.
    const s = swarmSummary({ status: 'running', task_count: 4, tasks_done: 1, budget: { usd: 3 }, granted: { usd: 0 } }, agents);
    expect(s.taskFraction).toBe(0.25);
    expect(s.spendFraction).toBeCloseTo(0.25);
    expect(s.reservedUsd).toBe(1);
    expect(swarmSummary({ granted: { usd: 2 } }, null).reservedUsd).toBe(2); // no agents at hand
    expect(s.agentsByStatus).toEqual({ running: 1, idle: 1 });
  });

  it('has no spend meter without a USD cap and survives a swarm with nothing yet', () => {
    const s = swarmSummary({ status: 'running', agent_count: 1 }, null);
    expect(s.spendFraction).toBeNull();
    expect(s.taskFraction).toBeNull();
    expect(s.agentCount).toBe(1);
  });

  it('puts the lead first, then agents by creation', () => {
    const sorted = sortAgents([
      { id: 'b', role: 'teammate', created_at: ts(2) },
      { id: 'a', role: 'teammate', created_at: ts(1) },
      { id: 'lead', role: 'lead', created_at: ts(3) },
    ]);
    expect(sorted.map((a) => a.id)).toEqual(['lead', 'a', 'b']);
  });

  it('orders newest first with pending server timestamps on top', () => {
    const docs = newestFirst([{ id: 'old', at: ts(1) }, { id: 'pending', at: null }, { id: 'new', at: ts(5) }], 'at');
    expect(docs.map((d) => d.id)).toEqual(['pending', 'new', 'old']);
  });

  it('names senders', () => {
    expect(senderLabel('human:alice')).toBe('alice (human)');
    expect(senderLabel('lead')).toBe('lead');
  });
});

describe('agent graph', () => {
  const agents = [{ id: 'lead', role: 'lead' }, ...Array.from({ length: 19 }, (_, i) => ({ id: `w${i}`, role: 'teammate' }))];

  it('places every agent inside the box, the lead in the middle, no two on one spot', () => {
    const pos = layoutAgents(agents, { width: 720, height: 440 });
    expect(pos.lead).toEqual({ x: 360, y: 220 });
    const spots = new Set(Object.values(pos).map((p) => `${Math.round(p.x)},${Math.round(p.y)}`));
    expect(spots.size).toBe(20);
    for (const p of Object.values(pos)) {
      expect(p.x).toBeGreaterThanOrEqual(0);
      expect(p.x).toBeLessThanOrEqual(720);
      expect(p.y).toBeGreaterThanOrEqual(0);
      expect(p.y).toBeLessThanOrEqual(440);
    }
  });

  it('uses a second, inner ring past 24 teammates', () => {
    const many = [{ id: 'lead', role: 'lead' }, ...Array.from({ length: 40 }, (_, i) => ({ id: `w${i}` }))];
    const pos = layoutAgents(many, { width: 720, height: 440 });
    const spots = new Set(Object.values(pos).map((p) => `${Math.round(p.x)},${Math.round(p.y)}`));
    expect(spots.size).toBe(41);
    const dist = (p) => Math.hypot(p.x - 360, p.y - 220);
    expect(dist(pos.w30)).toBeLessThan(dist(pos.w0));
  });

  it('aggregates messages into edges, marks recent ones, counts outside senders apart', () => {
    const now = 100_000;
    const { edges, fromOutside } = messageEdges(
      [
        { from: 'lead', to: 'w0', created_at: ts(10_000) },
        { from: 'lead', to: 'w0', created_at: ts(95_000) },
        { from: 'w0', to: 'lead', created_at: ts(20_000) },
        { from: 'human:ann', to: 'lead', created_at: ts(1) },
        { from: 'system', to: 'w0', created_at: ts(1) },
        { from: 'lead', to: 'gone', created_at: ts(1) },
        { from: 'lead', to: 'w1', created_at: null },
      ],
      ['lead', 'w0', 'w1'],
      now,
    );
    const byId = Object.fromEntries(edges.map((e) => [e.id, e]));
    expect(byId['lead→w0']).toMatchObject({ count: 2, recent: true });
    expect(byId['w0→lead']).toMatchObject({ count: 1, recent: false });
    expect(byId['lead→w1'].recent).toBe(true); // a pending timestamp is "now"
    expect(fromOutside).toEqual({ lead: 1, w0: 1 });
    expect(edges.at(-1).recent).toBe(true); // recent edges are drawn last
  });

  it('draws an edge as a curve between two nodes', () => {
    expect(edgePath({ x: 0, y: 0 }, { x: 100, y: 0 })).toMatch(/^M22\.0,0\.0 Q/);
  });
});

describe('task board', () => {
  const tasks = [
    { id: 't10', status: 'done', created_at: ts(10), title: 'ten', owner: 'w1' },
    { id: 't2', status: 'ready', created_at: ts(2), title: 'two', blocked_by: ['t10'] },
    { id: 't3', status: 'blocked', created_at: ts(3), title: 'Three', blocked_by: ['t2', 't10'], owner: 'w2' },
    { id: 't4', status: 'in_progress', created_at: ts(4), title: 'four', blocked_by: ['missing'] },
  ];

  it('has a column for every status, oldest first', () => {
    const cols = groupByStatus(tasks);
    expect(Object.keys(cols)).toEqual(COLUMNS);
    expect(cols.done.map((t) => t.id)).toEqual(['t10']);
    expect(cols.cancelled).toEqual([]);
  });

  it('levels tasks by their deepest dependency, ignoring unknown ids', () => {
    const levels = dependencyLevels(tasks).map((l) => l.map((t) => t.id));
    expect(levels).toEqual([['t4', 't10'], ['t2'], ['t3']]);
  });

  it('does not hang on a cycle', () => {
    const levels = dependencyLevels([
      { id: 'a', blocked_by: ['b'] },
      { id: 'b', blocked_by: ['a'] },
    ]);
    expect(levels.flat().map((t) => t.id).sort()).toEqual(['a', 'b']);
  });

  it('knows what each task unblocks', () => {
    expect(dependents(tasks)).toEqual({ t10: ['t2', 't3'], t2: ['t3'], missing: ['t4'] });
  });

  it('filters by owner and text', () => {
    expect(filterTasks(tasks, { owner: 'w2' }).map((t) => t.id)).toEqual(['t3']);
    expect(filterTasks(tasks, { text: 'three' }).map((t) => t.id)).toEqual(['t3']);
    expect(filterTasks(tasks, { text: 'w1' }).map((t) => t.id)).toEqual(['t10']);
  });

  // How fast is the browser test's and the bench's to say; here, that 200 tasks come out whole.
  it('handles 200 tasks', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ id: `t${i}`, status: COLUMNS[i % 5], blocked_by: i ? [`t${Math.floor(i / 2)}`] : [] }));
    const columns = groupByStatus(many);
    expect(Object.values(columns).reduce((n, c) => n + c.length, 0)).toBe(200);
    const levelOf = new Map(dependencyLevels(many).flatMap((ts, l) => ts.map((t) => [t.id, l])));
    expect(levelOf.size).toBe(200);
    for (const t of many.slice(1)) expect(levelOf.get(t.id)).toBeGreaterThan(levelOf.get(t.blocked_by[0]));
  });
});

describe('activity', () => {
  it('names known kinds and makes unknown ones readable', () => {
    expect(describeEvent({ kind: 'task_done' })).toEqual({ label: 'Task done', group: 'tasks' });
    expect(describeEvent({ kind: 'brand_new_thing' })).toEqual({ label: 'brand new thing', group: 'other' });
  });

  it('filters by group', () => {
    const events = [{ kind: 'task_done' }, { kind: 'message' }, { kind: 'agent_spawned' }];
    expect(filterEvents(events, 'all')).toHaveLength(3);
    expect(filterEvents(events, 'tasks')).toEqual([{ kind: 'task_done' }]);
  });
});

describe('plain text', () => {
  it('removes bidi controls and control characters, keeps tabs, newlines and other scripts', () => {
    expect(plainText('exe.\u202etxt\u202c \u2066i\u2069 nul\u0000 esc\u001b]0;t\u0007 c1\u009b')).toBe('exe.txt i nul esc]0;t c1');
    expect(plainText('a\tb\nc עברית 東京')).toBe('a\tb\nc עברית 東京');
    expect(plainText(42)).toBe(42);
  });

  it('cleans every string of a document and keeps class instances such as Timestamps', () => {
    class Stamp {
      toDate() {
        return new Date(0);
      }
    }
    const at = new Stamp();
    const out = plainDeep({ goal: 'x\u202e', tags: ['\u0000y'], nested: { n: 1, at } });
    expect(out).toEqual({ goal: 'x', tags: ['y'], nested: { n: 1, at } });
    expect(out.nested.at).toBe(at);
  });
});
