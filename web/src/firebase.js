// Firestore for one signed-in session. Emulator: the API hands back the claims of a mock user
// token, which the emulator checks the rules against. Production: a custom token signs in to
// Firebase Auth (loaded only then, so the local bundle never carries it).
import { deleteApp, initializeApp } from 'firebase/app';
import { connectFirestoreEmulator, initializeFirestore, terminate } from 'firebase/firestore';

let seq = 0;

export async function openFirestore(config, grant) {
  const projectId = grant.project_id || config.projectId;
  const app = initializeApp({ projectId, ...(config.firebase ?? {}) }, `cloudswarm-${++seq}`);
  // Streaming, not the auto-detected long-polling fallback: snapshots arrive as they are sent.
  const db = initializeFirestore(app, { experimentalAutoDetectLongPolling: false });
  try {
    if (grant.emulator) {
      if (!config.emulator) {
        throw new Error('The API runs against the emulator but /config.json names none.');
      }
      const claims = { ...(grant.mock_user_token ?? {}) };
      claims.sub ??= claims.uid ?? claims.user_id ?? 'ui-user';
      connectFirestoreEmulator(db, config.emulator.host, Number(config.emulator.port), {
        mockUserToken: claims,
      });
    } else {
      if (!grant.custom_token) throw new Error('The API returned no Firebase token.');
      const { getAuth, signInWithCustomToken } = await import('firebase/auth');
      await signInWithCustomToken(getAuth(app), grant.custom_token);
    }
  } catch (e) {
    await deleteApp(app).catch(() => {});
    throw e;
  }
  return {
    db,
    async close() {
      await terminate(db).catch(() => {});
      await deleteApp(app).catch(() => {});
    },
  };
}
