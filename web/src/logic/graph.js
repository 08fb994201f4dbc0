// The agent graph: where each agent sits and who messages whom.
import { millis } from './format.js';

/**
 * Place the lead in the middle and the teammates on an ellipse around it (two rings past 24
 * teammates), in the given order, so a node never jumps when another one joins.
 */
export function layoutAgents(agents, { width = 640, height = 420, margin = 48 } = {}) {
  const cx = width / 2;
  const cy = height / 2;
  const lead = agents.find((a) => a.role === 'lead') ?? null;
  const others = agents.filter((a) => a !== lead);
  const pos = {};
  if (lead) pos[lead.id] = { x: cx, y: cy };
  const rings = others.length > 24 ? 2 : 1;
  const outer = Math.ceil(others.length / rings);
  const rx = width / 2 - margin * 1.5;
  const ry = height / 2 - margin;
  others.forEach((a, i) => {
    // The outer ring fills first; the inner one sits at 55% and is turned half a step.
    const ring = i < outer ? 0 : 1;
    const k = ring ? i - outer : i;
    const onRing = ring ? others.length - outer : outer;
    const scale = ring ? 0.55 : 1;
    const angle = -Math.PI / 2 + (2 * Math.PI * k) / onRing + (ring * Math.PI) / onRing;
    pos[a.id] = { x: cx + rx * scale * Math.cos(angle), y: cy + ry * scale * Math.sin(angle) };
  });
  // Keep every node inside the box.
  for (const p of Object.values(pos)) {
    p.x = Math.min(width - margin, Math.max(margin, p.x));
    p.y = Math.min(height - margin / 2, Math.max(margin / 2, p.y));
  }
  return pos;
}

/**
 * Messages between agents as edges: one per (from, to) pair with its count and last time;
 * `recent` when the last message is younger than `recentMs` (the UI animates those).
 * Messages from humans or the system are not edges; they are counted per recipient.
 */
export function messageEdges(messages, agentIds, now = Date.now(), recentMs = 15000) {
  const ids = new Set(agentIds);
  const edges = new Map();
  const fromOutside = {};
  for (const m of messages ?? []) {
    const from = m.from;
    const to = m.to;
    if (!ids.has(to)) continue;
    if (!ids.has(from)) {
      fromOutside[to] = (fromOutside[to] ?? 0) + 1;
      continue;
    }
    if (from === to) continue;
    const key = `${from}→${to}`;
    const at = millis(m.created_at) || now; // a pending server timestamp is "now"
    const e = edges.get(key) ?? { id: key, from, to, count: 0, last: 0 };
    e.count += 1;
    e.last = Math.max(e.last, at);
    edges.set(key, e);
  }
  const list = [...edges.values()].map((e) => ({ ...e, recent: now - e.last < recentMs }));
  list.sort((a, b) => a.last - b.last); // recent edges drawn last, on top
  return { edges: list, fromOutside };
}

/** A curved path from a to b (so a→b and b→a do not overlap), stopping short of the nodes. */
export function edgePath(a, b, radius = 22) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len = Math.hypot(dx, dy) || 1;
  const ux = dx / len;
  const uy = dy / len;
  const sx = a.x + ux * radius;
  const sy = a.y + uy * radius;
  const ex = b.x - ux * (radius + 4);
  const ey = b.y - uy * (radius + 4);
  const bend = Math.min(40, len / 5);
  const mx = (sx + ex) / 2 - uy * bend;
  const my = (sy + ey) / 2 + ux * bend;
  return `M${sx.toFixed(1)},${sy.toFixed(1)} Q${mx.toFixed(1)},${my.toFixed(1)} ${ex.toFixed(1)},${ey.toFixed(1)}`;
}
