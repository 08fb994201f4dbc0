import { defineConfig } from 'vitest/config';

// The firestore.rules tests: they need a running Firestore emulator (FIRESTORE_EMULATOR_HOST)
// started with the rules; tests/e2e/test_web_rules.py starts one and runs this.
export default defineConfig({
  test: {
    include: ['tests/rules/**/*.test.js'],
    environment: 'node',
    testTimeout: 20000,
    hookTimeout: 30000,
    fileParallelism: false,
  },
});
