// firestore.rules against the Firestore emulator, through the web SDK (the UI's own client).
// Needs FIRESTORE_EMULATOR_HOST; tests/e2e/test_web_rules.py starts an emulator and runs this.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { assertFails, assertSucceeds, initializeTestEnvironment } from '@firebase/rules-unit-testing';
import {
  addDoc,
  collection,
  collectionGroup,
  deleteDoc,
  doc,
  getDoc,
  getDocs,
  query,
  setDoc,
  updateDoc,
  where,
  writeBatch,
} from 'firebase/firestore';
import { afterAll, beforeAll, describe, it } from 'vitest';

const [host, port] = (process.env.FIRESTORE_EMULATOR_HOST ?? '').split(':');
if (!host) throw new Error('FIRESTORE_EMULATOR_HOST is not set: start a Firestore emulator first');

let env;
const S = 'swarms/s-1';
const LIVE = ['agents/lead', 'tasks/t1', 'messages/m1', 'events/e1', 'approvals/a1', 'artifacts/k1', 'artifacts/k1/versions/00000001', 'turns/tu1'];
const INTERNAL = ['processed/x', 'budget_days/2025-01-01', 'api_keys/k', 'users/u', `${S}/effects/tu1`, 'control/kill_switch/audit/1'];

const as = (role) => env.authenticatedContext(`${role}-user`, { role }).firestore();

beforeAll(async () => {
  env = await initializeTestEnvironment({
    projectId: `rules-test-${Date.now()}`,
    firestore: { host, port: Number(port), rules: readFileSync(resolve(import.meta.dirname, '../../../firestore.rules'), 'utf8') },
  });
  await env.withSecurityRulesDisabled(async (ctx) => {
    const db = ctx.firestore();
    await setDoc(doc(db, S), { goal: 'g', status: 'running' });
    for (const p of LIVE) await setDoc(doc(db, `${S}/${p}`), { status: 'pending', v: 1 });
    await setDoc(doc(db, 'control/kill_switch'), { engaged: false });
    await setDoc(doc(db, 'dead_letters/d1'), { source: 'doorbell', reason: 'r' });
    for (const p of INTERNAL) await setDoc(doc(db, p), { v: 1 });
  });
});

afterAll(async () => {
  await env?.cleanup();
});

describe('an anonymous client reads nothing', () => {
  const paths = [S, ...LIVE.map((p) => `${S}/${p}`), 'control/kill_switch', 'dead_letters/d1', ...INTERNAL];
  it.each(paths)('get %s', async (p) => {
    await assertFails(getDoc(doc(env.unauthenticatedContext().firestore(), p)));
  });
  it.each(['swarms', `${S}/tasks`, `${S}/agents`, 'dead_letters', 'control'])('list %s', async (c) => {
    await assertFails(getDocs(collection(env.unauthenticatedContext().firestore(), c)));
  });
  it('collection-group approvals', async () => {
    await assertFails(getDocs(query(collectionGroup(env.unauthenticatedContext().firestore(), 'approvals'), where('status', '==', 'pending'))));
  });
});

describe('a signed-in token without a known role reads nothing', () => {
  it.each([undefined, 'superuser'])('role %s', async (role) => {
    const db = env.authenticatedContext('odd', role ? { role } : {}).firestore();
    await assertFails(getDoc(doc(db, S)));
    await assertFails(getDocs(collection(db, 'swarms')));
    await assertFails(getDoc(doc(db, 'control/kill_switch')));
  });
});

describe.each(['viewer', 'operator', 'admin'])('a %s reads the live state', (role) => {
  it('swarms, their live subcollections, the kill switch and dead letters', async () => {
    const db = as(role);
    await assertSucceeds(getDoc(doc(db, S)));
    await assertSucceeds(getDocs(collection(db, 'swarms')));
    for (const p of LIVE) await assertSucceeds(getDoc(doc(db, `${S}/${p}`)));
    for (const c of ['agents', 'tasks', 'messages', 'events', 'approvals', 'artifacts', 'artifacts/k1/versions', 'turns']) {
      await assertSucceeds(getDocs(collection(db, `${S}/${c}`)));
    }
    await assertSucceeds(getDoc(doc(db, 'control/kill_switch')));
    await assertSucceeds(getDocs(collection(db, 'dead_letters')));
    await assertSucceeds(getDocs(query(collectionGroup(db, 'approvals'), where('status', '==', 'pending'))));
  });

  it('never the internals: effects, processed markers, API keys, users', async () => {
    const db = as(role);
    // Only the versions of an artifact are readable beneath it, nothing else deeper.
    await assertFails(getDoc(doc(db, `${S}/artifacts/k1/other/x`)));
    for (const p of [`${S}/effects/tu1`, 'processed/x', 'api_keys/k', 'users/u']) await assertFails(getDoc(doc(db, p)));
    await assertFails(getDocs(collection(db, `${S}/effects`)));
  });
});

describe('what depends on the role', () => {
  it('the kill switch audit: operators and admins, not viewers', async () => {
    await assertFails(getDoc(doc(as('viewer'), 'control/kill_switch/audit/1')));
    await assertSucceeds(getDoc(doc(as('operator'), 'control/kill_switch/audit/1')));
    await assertSucceeds(getDocs(collection(as('admin'), 'control/kill_switch/audit')));
  });
  it('the global daily spend: admins only', async () => {
    await assertFails(getDoc(doc(as('viewer'), 'budget_days/2025-01-01')));
    await assertFails(getDoc(doc(as('operator'), 'budget_days/2025-01-01')));
    await assertSucceeds(getDoc(doc(as('admin'), 'budget_days/2025-01-01')));
  });
});

describe('no client writes anywhere, whatever its role', () => {
  const targets = [S, ...LIVE.map((p) => `${S}/${p}`), `${S}/effects/tu1`, 'control/kill_switch', 'control/kill_switch/audit/2', 'dead_letters/d1', 'budget_days/2025-01-01', 'processed/x', 'anything/new'];
  const clients = () => [['anonymous', env.unauthenticatedContext().firestore()], ...['viewer', 'operator', 'admin'].map((r) => [r, as(r)])];

  it.each(targets)('create, update or delete %s', async (p) => {
    for (const [, db] of clients()) {
      await assertFails(setDoc(doc(db, p), { engaged: false, status: 'running' }));
      await assertFails(setDoc(doc(db, p), { hacked: true }, { merge: true }));
      await assertFails(updateDoc(doc(db, p), { status: 'killed' }));
      await assertFails(deleteDoc(doc(db, p)));
    }
  });

  it('add to a collection or commit a batch', async () => {
    for (const [, db] of clients()) {
      await assertFails(addDoc(collection(db, `${S}/messages`), { from: 'human:x', to: 'lead', body: 'hi' }));
      await assertFails(addDoc(collection(db, 'swarms'), { goal: 'mine' }));
      const batch = writeBatch(db);
      batch.set(doc(db, `${S}/tasks/t9`), { title: 'x' });
      await assertFails(batch.commit());
    }
  });
});
