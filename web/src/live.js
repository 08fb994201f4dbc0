// Live Firestore reads as React hooks: onSnapshot only, never polling.
import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import { onSnapshot } from 'firebase/firestore';
import { plainDeep } from './logic/format.js';

export const SessionContext = createContext(null);

export function useSession() {
  const session = useContext(SessionContext);
  const state = useSyncExternalStore(session.subscribe, session.get);
  return { session, ...state };
}

// Every document is outside text (agents, webhooks, web pages write it): read once as plain text
// here, so no view can show a bidi override or a control character. Ids are kept as stored.
export function docData(snap) {
  const data = plainDeep(snap.data({ serverTimestamps: 'estimate' }));
  const parent = snap.ref.parent.parent;
  return { id: snap.id, ...data, _swarm: parent?.parent?.id === 'swarms' ? parent.id : undefined };
}

// Browser tests read first-snapshot times from window.__csTrace (set it to [] to record).
function trace(key, size) {
  if (typeof window !== 'undefined' && Array.isArray(window.__csTrace)) {
    window.__csTrace.push({ key, size, t: Math.round(performance.now()) });
  }
}

/**
 * Subscribe to a query built by `build(db)` (null: nothing to subscribe to).
 * Returns {docs: null while the first snapshot is on its way, error}.
 */
export function useLiveQuery(build, deps) {
  const { db } = useSession();
  const [state, setState] = useState({ docs: null, error: null, key: null });
  const key = JSON.stringify(deps);
  useEffect(() => {
    const q = db ? build(db) : null;
    if (!q) return undefined;
    setState({ docs: null, error: null, key });
    return onSnapshot(
      q,
      (snap) => {
        trace(key, snap.size);
        setState({ docs: snap.docs.map(docData), error: null, key });
      },
      (error) => setState({ docs: [], error, key }),
    );
  }, [db, key]);
  // Never hand out the previous subscription's documents for new arguments.
  return state.key === key ? state : { docs: null, error: null };
}

/** Subscribe to one document: {doc: undefined while loading, null if missing, error}. */
export function useLiveDoc(build, deps) {
  const { db } = useSession();
  const [state, setState] = useState({ doc: undefined, error: null, key: null });
  const key = JSON.stringify(deps);
  useEffect(() => {
    const ref = db ? build(db) : null;
    if (!ref) return undefined;
    setState({ doc: undefined, error: null, key });
    return onSnapshot(
      ref,
      (snap) => {
        trace(key, 1);
        setState({ doc: snap.exists() ? docData(snap) : null, error: null, key });
      },
      (error) => setState({ doc: null, error, key }),
    );
  }, [db, key]);
  return state.key === key ? state : { doc: undefined, error: null };
}

/** A clock that ticks every `ms`, for "5 s ago" labels and edge fading (not a data poll). */
export function useNow(ms = 5000) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
