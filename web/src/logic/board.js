// The task board: columns by status and the dependency view (levels of a DAG).
import { millis } from './format.js';

export const COLUMNS = ['blocked', 'ready', 'in_progress', 'done', 'cancelled'];

function byCreation(a, b) {
  return millis(a.created_at) - millis(b.created_at) || naturalCompare(a.id, b.id);
}

export function naturalCompare(a, b) {
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

/** status -> tasks, every column present, oldest first. */
export function groupByStatus(tasks) {
  const cols = Object.fromEntries(COLUMNS.map((c) => [c, []]));
  for (const t of tasks ?? []) (cols[t.status] ??= []).push(t);
  for (const c of Object.keys(cols)) cols[c].sort(byCreation);
  return cols;
}

/**
 * Dependency levels: a task with no (known) blocked_by is level 0, any other one level above
 * its deepest dependency. Unknown ids are ignored; a cycle (which the backend refuses) cannot
 * hang the view: a task on one is put at the level reached when it was found.
 */
export function dependencyLevels(tasks) {
  const byId = new Map((tasks ?? []).map((t) => [t.id, t]));
  const level = new Map();
  const visiting = new Set();
  function visit(id) {
    if (level.has(id)) return level.get(id);
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const deps = (byId.get(id).blocked_by ?? []).filter((d) => byId.has(d));
    const l = deps.length ? 1 + Math.max(...deps.map(visit)) : 0;
    visiting.delete(id);
    level.set(id, l);
    return l;
  }
  for (const id of byId.keys()) visit(id);
  const levels = [];
  for (const [id, l] of level) (levels[l] ??= []).push(byId.get(id));
  return levels.map((ts) => (ts ?? []).sort(byCreation));
}

/** id -> ids of the tasks that wait on it (the reverse of blocked_by). */
export function dependents(tasks) {
  const out = {};
  for (const t of tasks ?? []) for (const d of t.blocked_by ?? []) (out[d] ??= []).push(t.id);
  return out;
}

/** Filter by owner and free text (id, title, owner). */
export function filterTasks(tasks, { owner = '', text = '' } = {}) {
  const q = text.trim().toLowerCase();
  return (tasks ?? []).filter(
    (t) =>
      (!owner || t.owner === owner) &&
      (!q || [t.id, t.title, t.owner].some((v) => String(v ?? '').toLowerCase().includes(q))),
  );
}
