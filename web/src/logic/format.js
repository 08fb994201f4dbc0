// Formatting shared by every view. Pure: no React, no Firebase.

/** A Firestore Timestamp, Date, ISO string or epoch (s or ms) as a Date, or null. */
export function toDate(value) {
  if (value == null) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value.toDate === 'function') return value.toDate();
  if (typeof value === 'number') return new Date(value < 1e12 ? value * 1000 : value);
  if (typeof value === 'string') {
    const t = Date.parse(value);
    return Number.isNaN(t) ? null : new Date(t);
  }
  if (typeof value.seconds === 'number') return new Date(value.seconds * 1000);
  return null;
}

export function millis(value) {
  const d = toDate(value);
  return d ? d.getTime() : 0;
}

/** Dollars with enough digits to tell small model calls apart. */
export function usd(n) {
  const v = Number(n) || 0;
  if (v === 0) return '$0.00';
  if (Math.abs(v) < 0.01) return `$${v.toFixed(4)}`;
  if (Math.abs(v) < 100) return `$${v.toFixed(2)}`;
  return `$${Math.round(v).toLocaleString('en-US')}`;
}

export function count(n) {
  const v = Number(n) || 0;
  if (v < 1000) return String(Math.round(v));
  if (v < 1e6) return `${(v / 1000).toFixed(v < 1e4 ? 1 : 0)}k`;
  return `${(v / 1e6).toFixed(v < 1e7 ? 1 : 0)}M`;
}

/** "12 s ago", "3 min ago", "2 h ago", else a date. */
export function ago(value, now = Date.now()) {
  const d = toDate(value);
  if (!d) return '';
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return d.toISOString().slice(0, 10);
}

export function clock(value) {
  const d = toDate(value);
  return d ? d.toLocaleTimeString('en-GB', { hour12: false }) : '';
}

/** used / cap as 0..1 (null when there is no cap), for meters. */
export function fraction(used, cap) {
  if (cap == null || !(Number(cap) > 0)) return null;
  return Math.min(1, Math.max(0, (Number(used) || 0) / Number(cap)));
}

export function percent(f) {
  return f == null ? '' : `${Math.round(f * 100)}%`;
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

export function truncate(text, max = 160) {
  const s = String(text ?? '');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

// Characters that change how the text around them is drawn rather than what it says: bidi
// embeddings, overrides and isolates (U+202A-202E, U+2066-2069: with an override a name ending
// in ".exe" reads as one ending in ".txt") and C0/C1 controls but tab and newline (NUL, ESC).
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Outside text as it reads: the characters above removed, everything else kept. */
export function plainText(s) {
  return typeof s === 'string' ? s.replace(INVISIBLE, '') : s;
}

/** Every string of a document (plain objects and arrays) through plainText; Timestamps and other
 *  class instances are kept as they are. */
export function plainDeep(value) {
  if (typeof value === 'string') return plainText(value);
  if (Array.isArray(value)) return value.map(plainDeep);
  if (value && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainDeep(v)]));
  }
  return value;
}
