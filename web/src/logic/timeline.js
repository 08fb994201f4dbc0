// The swarm's timeline as geometry: one lane per agent, a bar per turn (its model and tool calls
// inside), messages as arrows between lanes, task claims and completions as marks, pauses and the
// kill switch as bands. Pure: the view (views/Timeline.jsx) draws what this returns as SVG.
// Everything outside the visible window is left out here, so a swarm of hundreds of turns draws
// only what is on screen.

import { millis } from './format.js';

export const LANE_H = 26;
export const LABEL_W = 120;
export const AXIS_H = 22;
export const MIN_SPAN_MS = 2000;
const INNER_MIN_PX = 4; // a bar narrower than this draws no calls inside it
const MARK_KINDS = { task_claimed: 'claim', task_done: 'done' };

/** A turn record's start and end in ms (the end: the release's commit time, else its length). */
export function turnTimes(turn, now = Date.now()) {
  const start = millis(turn.started_at);
  const end = millis(turn.ended_at) || start + (Number(turn.dur_s) || 0) * 1000 || now;
  return { start, end: Math.max(end, start) };
}

/** The earliest and latest moment anything happened (the whole timeline's extent). */
export function timeBounds({ turns = [], messages = [], events = [], now = Date.now() } = {}) {
  let start = Infinity;
  let end = -Infinity;
  for (const t of turns) {
    const { start: s, end: e } = turnTimes(t, now);
    if (s) start = Math.min(start, s);
    if (e) end = Math.max(end, e);
  }
  for (const m of messages) {
    const at = millis(m.created_at);
    if (at) [start, end] = [Math.min(start, at), Math.max(end, at)];
  }
  for (const e of events) {
    const at = millis(e.at);
    if (at) [start, end] = [Math.min(start, at), Math.max(end, at)];
  }
  if (!Number.isFinite(start)) return { start: now - 60000, end: now };
  return { start, end: Math.max(end, start + MIN_SPAN_MS) };
}

/** A view window kept inside the bounds and no narrower than MIN_SPAN_MS. */
export function clampView(view, bounds) {
  const full = bounds.end - bounds.start;
  const span = Math.min(Math.max(view.end - view.start, MIN_SPAN_MS), Math.max(full, MIN_SPAN_MS));
  let end = Math.min(view.end, bounds.end);
  let start = end - span;
  if (start < bounds.start) [start, end] = [bounds.start, bounds.start + span];
  return { start, end };
}

/** Zoom by `factor` (< 1 zooms in) around the moment `at` (default: the window's middle). */
export function zoomView(view, bounds, factor, at = (view.start + view.end) / 2) {
  const start = at - (at - view.start) * factor;
  const end = at + (view.end - at) * factor;
  return clampView({ start, end }, bounds);
}

/** Move the window so it ends at `end` (the scrubber), keeping its span. */
export function scrubView(view, bounds, end) {
  const span = view.end - view.start;
  return clampView({ start: end - span, end }, bounds);
}

/** Pauses (swarm_paused until swarm_running or the end) and the kill switch (its audit's
 *  engaged until released) as [start, end] intervals. */
export function bands(events = [], audit = [], end = Date.now()) {
  const out = [];
  const pairs = (items, isOn, isOff, kind, label) => {
    let open = null;
    for (const it of [...items].sort((a, b) => a.at - b.at)) {
      if (isOn(it) && open == null) open = it.at;
      else if (isOff(it) && open != null) {
        out.push({ kind, start: open, end: it.at, label });
        open = null;
      }
    }
    if (open != null) out.push({ kind, start: open, end, label });
  };
  const evs = events.map((e) => ({ kind: e.kind, at: millis(e.at) })).filter((e) => e.at);
  pairs(evs, (e) => e.kind === 'swarm_paused', (e) => e.kind === 'swarm_running', 'paused', 'Paused');
  const ks = audit.map((k) => ({ engaged: Boolean(k.engaged), at: millis(k.at) })).filter((k) => k.at);
  pairs(ks, (k) => k.engaged, (k) => !k.engaged, 'kill', 'Kill switch engaged');
  return out;
}

function ticks(view, width) {
  const span = view.end - view.start;
  const steps = [1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 144e5, 864e5];
  const step = steps.find((s) => (span / s) * 90 <= width) ?? steps.at(-1);
  const out = [];
  for (let t = Math.ceil(view.start / step) * step; t <= view.end; t += step) {
    const d = new Date(t);
    const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    out.push({ t, label: step < 6e4 ? `${hm}:${String(d.getSeconds()).padStart(2, '0')}` : hm });
  }
  return out;
}

/**
 * Everything to draw for `view` ({start, end} in ms) on a plot `width` px wide (lanes start
 * after LABEL_W). Agents give the lanes, in their order; a turn, message or event of an agent
 * that is not listed gets no lane and is not drawn.
 */
export function layoutTimeline({ agents = [], turns = [], messages = [], events = [], audit = [], view, width, now = Date.now() }) {
  const plotW = Math.max(1, width - LABEL_W);
  const span = Math.max(1, view.end - view.start);
  const x = (t) => LABEL_W + ((t - view.start) / span) * plotW;
  const lane = new Map(agents.map((a, i) => [a.id, i]));
  const laneY = (aid) => AXIS_H + lane.get(aid) * LANE_H;
  const visible = (s, e) => e >= view.start && s <= view.end;
  const lanes = agents.map((a, i) => ({ id: a.id, y: AXIS_H + i * LANE_H, label: a.id }));

  const bars = [];
  for (const t of turns) {
    if (!lane.has(t.agent_id)) continue;
    const { start, end } = turnTimes(t, now);
    if (!start || !visible(start, end)) continue;
    const x0 = x(start);
    const w = Math.max(2, x(end) - x0);
    const y = laneY(t.agent_id) + 4;
    const h = LANE_H - 8;
    const inner = w >= INNER_MIN_PX;
    const seg = (s) => ({ x: x(start + s.at_s * 1000), w: Math.max(1, (s.dur_s * 1000 * plotW) / span) });
    bars.push({
      id: t.id,
      aid: t.agent_id,
      x: x0,
      w,
      y,
      h,
      outcome: t.outcome,
      turn: t.turn,
      retry: Number(t.retry_attempt) > 0 || t.outcome === 'retry',
      approval: t.approval ?? null,
      firstCall: t.model_calls?.[0]?.seq ?? null,
      calls: inner ? (t.model_calls ?? []).map((c) => ({ ...seg(c), seq: c.seq })) : [],
      tools: inner ? (t.tools ?? []).map((c) => ({ ...seg(c), name: c.name, isError: Boolean(c.is_error) })) : [],
      title: `${t.agent_id} turn ${t.turn}: ${t.outcome}${t.detail ? ` (${t.detail})` : ''}; ${t.calls} model call(s), ${t.tool_count} tool call(s)`,
    });
  }

  const arrows = [];
  for (const m of messages) {
    const at = millis(m.created_at);
    if (!at || !visible(at, at) || !lane.has(m.to)) continue;
    const y2 = laneY(m.to) + LANE_H / 2;
    const y1 = lane.has(m.from) ? laneY(m.from) + LANE_H / 2 : AXIS_H; // a human or the system: from the top
    arrows.push({ id: m.id, x: x(at), y1, y2, kind: m.kind, title: `${m.from} → ${m.to}` });
  }

  const marks = [];
  for (const e of events) {
    const kind = MARK_KINDS[e.kind];
    const at = millis(e.at);
    if (!kind || !at || !visible(at, at) || !lane.has(e.actor)) continue;
    marks.push({ id: e.id, kind, x: x(at), y: laneY(e.actor) + LANE_H / 2, title: e.summary });
  }

  const height = AXIS_H + agents.length * LANE_H;
  const spans = bands(events, audit, now)
    .filter((b) => visible(b.start, b.end))
    .map((b) => {
      const x0 = Math.max(LABEL_W, x(b.start));
      return { ...b, x: x0, w: Math.max(2, Math.min(width, x(b.end)) - x0) };
    });
  return { lanes, bars, arrows, marks, bands: spans, ticks: ticks(view, plotW).map((tick) => ({ ...tick, x: x(tick.t) })), height, width };
}

/** The moment at pixel `px` of the plot (for zooming around the pointer). */
export function timeAt(view, width, px) {
  const plotW = Math.max(1, width - LABEL_W);
  return view.start + ((px - LABEL_W) / plotW) * (view.end - view.start);
}

/** Cost and tokens over time, summed turn by turn in the order turns ended. */
export function costSeries(turns = [], now = Date.now()) {
  const done = turns
    .map((t) => ({ at: turnTimes(t, now).end, cost: Number(t.cost_usd) || 0, tokens: Number(t.tokens) || 0 }))
    .filter((p) => p.at)
    .sort((a, b) => a.at - b.at);
  let cost = 0;
  let tokens = 0;
  return done.map((p) => {
    cost += p.cost;
    tokens += p.tokens;
    return { at: p.at, cost, tokens };
  });
}

/** An SVG path of a cumulative series (a step line) scaled into width x height. */
export function seriesPath(points, key, { width, height, pad = 4 }) {
  if (!points.length) return '';
  const t0 = points[0].at;
  const t1 = Math.max(points.at(-1).at, t0 + 1);
  const top = Math.max(points.at(-1)[key], 1e-12);
  const px = (t) => pad + ((t - t0) / (t1 - t0)) * (width - 2 * pad);
  const py = (v) => height - pad - (v / top) * (height - 2 * pad);
  let d = `M${px(t0).toFixed(1)},${py(0).toFixed(1)}`;
  for (const p of points) d += `H${px(p.at).toFixed(1)}V${py(p[key]).toFixed(1)}`;
  return d;
}

/** Where a click on a turn opens the agent's transcript: the turn and the call within it. */
export function transcriptFocus(bar, seq) {
  return { turn: bar.id, call: seq ?? bar.firstCall };
}

/** Whether a transcript object (`<sid>/<aid>/turns/<n>-<turn_id>/<seq>-call.json`) is that call. */
export function isFocusedCall(object, focus) {
  if (!focus?.turn || !object) return false;
  const m = /\/turns\/\d+-([^/]+)\/(\d+)-/.exec(object);
  if (!m || m[1] !== focus.turn) return false;
  return focus.call == null || Number(m[2]) === Number(focus.call);
}
