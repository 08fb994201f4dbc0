import { describe, expect, it } from 'vitest';
import {
  AXIS_H,
  bands,
  clampView,
  costSeries,
  isFocusedCall,
  LABEL_W,
  LANE_H,
  layoutTimeline,
  MIN_SPAN_MS,
  scrubView,
  seriesPath,
  timeAt,
  timeBounds,
  transcriptFocus,
  zoomView,
} from './timeline.js';

const ts = (ms) => ({ toDate: () => new Date(ms) }); // a Firestore Timestamp's shape
const T0 = 1_767_000_000_000;
const agents = [{ id: 'lead' }, { id: 'w1' }];
const turn = (id, aid, s, e, extra = {}) => ({
  id,
  agent_id: aid,
  turn: 0,
  outcome: 'done',
  started_at: ts(T0 + s),
  ended_at: ts(T0 + e),
  calls: 1,
  tool_count: 1,
  model_calls: [{ seq: 1, at_s: 0, dur_s: (e - s) / 2000, tokens: 10, cost_usd: 0.01 }],
  tools: [{ name: 'claim_task', at_s: (e - s) / 2000, dur_s: 0.1, is_error: false }],
  tokens: 10,
  cost_usd: 0.01,
  ...extra,
});

describe('timeline layout', () => {
  const turns = [turn('a', 'lead', 0, 10_000), turn('b', 'w1', 5_000, 15_000, { outcome: 'retry' }), turn('c', 'ghost', 0, 1000)];
  const view = { start: T0, end: T0 + 20_000 };
  const width = LABEL_W + 1000; // 1000 px for 20 s: 50 px a second

  it('puts each turn in its agent lane at its time, with its calls inside', () => {
    const l = layoutTimeline({ agents, turns, view, width, now: T0 + 20_000 });
    expect(l.lanes.map((x) => [x.id, x.y])).toEqual([
      ['lead', AXIS_H],
      ['w1', AXIS_H + LANE_H],
    ]);
    expect(l.bars.map((b) => b.id)).toEqual(['a', 'b']); // no lane for an unknown agent
    const [a, b] = l.bars;
    expect([a.x, a.w]).toEqual([LABEL_W, 500]);
    expect(b.x).toBe(LABEL_W + 250);
    expect(b.y).toBeGreaterThan(a.y);
    expect(a.calls).toEqual([{ x: LABEL_W, w: 250, seq: 1 }]);
    expect(a.tools[0]).toMatchObject({ x: LABEL_W + 250, w: 5, name: 'claim_task', isError: false });
    expect(b.retry).toBe(true);
    expect(l.height).toBe(AXIS_H + 2 * LANE_H);
  });

  it('leaves out what is outside the window and draws no calls in a sliver', () => {
    const narrow = { start: T0 + 11_000, end: T0 + 13_000 };
    const l = layoutTimeline({ agents, turns, view: narrow, width, now: T0 });
    expect(l.bars.map((b) => b.id)).toEqual(['b']);
    const far = layoutTimeline({ agents, turns: [turn('d', 'lead', 0, 10)], view: { start: T0, end: T0 + 3_600_000 }, width });
    expect(far.bars[0].w).toBe(2); // still visible
    expect(far.bars[0].calls).toEqual([]);
  });

  it('draws messages as arrows between lanes, humans from the top', () => {
    const messages = [
      { id: 'm1', from: 'lead', to: 'w1', kind: 'message', created_at: ts(T0 + 2000) },
      { id: 'm2', from: 'human:op', to: 'lead', kind: 'message', created_at: ts(T0 + 4000) },
      { id: 'm3', from: 'lead', to: 'nobody', created_at: ts(T0 + 4000) },
    ];
    const l = layoutTimeline({ agents, messages, view, width });
    expect(l.arrows.map((a) => [a.id, a.x, a.y1, a.y2])).toEqual([
      ['m1', LABEL_W + 100, AXIS_H + LANE_H / 2, AXIS_H + LANE_H * 1.5],
      ['m2', LABEL_W + 200, AXIS_H, AXIS_H + LANE_H / 2],
    ]);
  });

  it('marks task claims and completions on the actor lane', () => {
    const events = [
      { id: 'e1', kind: 'task_claimed', actor: 'w1', summary: 'w1 claimed t1', at: ts(T0 + 1000) },
      { id: 'e2', kind: 'task_done', actor: 'w1', summary: 'done', at: ts(T0 + 3000) },
      { id: 'e3', kind: 'message', actor: 'w1', summary: 'x', at: ts(T0 + 3000) },
    ];
    const l = layoutTimeline({ agents, events, view, width });
    expect(l.marks.map((m) => [m.kind, m.x, m.y])).toEqual([
      ['claim', LABEL_W + 50, AXIS_H + LANE_H * 1.5],
      ['done', LABEL_W + 150, AXIS_H + LANE_H * 1.5],
    ]);
  });

  it('turns pauses and the kill switch into bands, an open one to the end', () => {
    const events = [
      { kind: 'swarm_paused', at: ts(T0 + 1000) },
      { kind: 'swarm_running', at: ts(T0 + 3000) },
      { kind: 'swarm_paused', at: ts(T0 + 8000) },
    ];
    const audit = [
      { engaged: false, at: ts(T0 + 6000) },
      { engaged: true, at: ts(T0 + 5000) },
    ];
    expect(bands(events, audit, T0 + 9000)).toEqual([
      { kind: 'paused', start: T0 + 1000, end: T0 + 3000, label: 'Paused' },
      { kind: 'paused', start: T0 + 8000, end: T0 + 9000, label: 'Paused' },
      { kind: 'kill', start: T0 + 5000, end: T0 + 6000, label: 'Kill switch engaged' },
    ]);
    const l = layoutTimeline({ agents, events, audit, view, width, now: T0 + 9000 });
    expect(l.bands[0]).toMatchObject({ x: LABEL_W + 50, w: 100 });
  });

  it('has time ticks inside the plot', () => {
    const l = layoutTimeline({ agents, view, width });
    expect(l.ticks.length).toBeGreaterThan(2);
    for (const k of l.ticks) expect(k.x).toBeGreaterThanOrEqual(LABEL_W);
  });

  it('stays cheap on a large swarm: 20 agents, 2,000 turns', () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ id: `a${i}` }));
    const lots = Array.from({ length: 2000 }, (_, i) => turn(`t${i}`, `a${i % 20}`, i * 1000, i * 1000 + 800));
    const all = layoutTimeline({ agents: many, turns: lots, view: { start: T0, end: T0 + 2_000_000 }, width });
    expect(all.bars).toHaveLength(2000);
    const zoomed = layoutTimeline({ agents: many, turns: lots, view: { start: T0, end: T0 + 100_000 }, width });
    expect(zoomed.bars.length).toBeLessThan(110); // only what the window shows
  });
});

describe('zoom and scrub', () => {
  const bounds = { start: 0, end: 100_000 };
  it('zooms around a moment and clamps to the extent', () => {
    expect(zoomView(bounds, bounds, 0.5)).toEqual({ start: 25_000, end: 75_000 });
    expect(zoomView({ start: 0, end: 50_000 }, bounds, 0.5, 0)).toEqual({ start: 0, end: 25_000 });
    expect(zoomView(bounds, bounds, 4)).toEqual(bounds); // never wider than everything
    const tiny = zoomView(bounds, bounds, 1e-6);
    expect(tiny.end - tiny.start).toBe(MIN_SPAN_MS);
  });
  it('scrubs the window, keeping its span, inside the extent', () => {
    const v = { start: 0, end: 10_000 };
    expect(scrubView(v, bounds, 50_000)).toEqual({ start: 40_000, end: 50_000 });
    expect(scrubView(v, bounds, 500_000)).toEqual({ start: 90_000, end: 100_000 });
    expect(scrubView(v, bounds, 1)).toEqual({ start: 0, end: 10_000 });
    expect(clampView({ start: 5, end: 5 }, bounds).end - 5).toBeLessThanOrEqual(MIN_SPAN_MS);
  });
  it('reads the moment under the pointer', () => {
    expect(timeAt({ start: 0, end: 1000 }, LABEL_W + 100, LABEL_W + 50)).toBe(500);
  });
  it('has bounds from everything, or the last minute when empty', () => {
    expect(timeBounds({ turns: [turn('a', 'lead', 0, 5000)], messages: [{ created_at: ts(T0 + 9000) }] })).toEqual({ start: T0, end: T0 + 9000 });
    expect(timeBounds({ now: 60_000 })).toEqual({ start: 0, end: 60_000 });
  });
});

describe('cost over time and transcript focus', () => {
  it('sums cost and tokens turn by turn in the order turns ended', () => {
    const s = costSeries([turn('b', 'w1', 0, 2000, { cost_usd: 0.5, tokens: 5 }), turn('a', 'lead', 0, 1000)]);
    expect(s).toEqual([
      { at: T0 + 1000, cost: 0.01, tokens: 10 },
      { at: T0 + 2000, cost: 0.51, tokens: 15 },
    ]);
    const d = seriesPath(s, 'cost', { width: 100, height: 50, pad: 0 });
    expect(d.startsWith('M0.0,50.0')).toBe(true);
    expect(d.endsWith('H100.0V0.0')).toBe(true);
    expect(seriesPath([], 'cost', { width: 1, height: 1 })).toBe('');
  });
  it('opens a turn at its first call, or at the call clicked', () => {
    const bar = { id: 'tu1', aid: 'w1', firstCall: 1 };
    expect(transcriptFocus(bar)).toEqual({ turn: 'tu1', call: 1 });
    expect(transcriptFocus(bar, 3)).toEqual({ turn: 'tu1', call: 3 });
    const obj = 's-1/w1/turns/00004-tu1/003-call.json';
    expect(isFocusedCall(obj, { turn: 'tu1', call: 3 })).toBe(true);
    expect(isFocusedCall(obj, { turn: 'tu1', call: 2 })).toBe(false);
    expect(isFocusedCall(obj, { turn: 'tu2', call: 3 })).toBe(false);
    expect(isFocusedCall(obj, null)).toBe(false);
  });
});
