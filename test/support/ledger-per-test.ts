/**
 * For each test of the describe that calls it: fresh stores of one stack and the whole process on them
 * (projections, reactors, task worker), both closed after the test, also when it failed.
 */
import { afterEach, beforeEach } from 'vitest';
import type { Stack } from '../flow/stacks.ts';
import { startTestLedger, type TestLedger } from './ledger-app.ts';

/** Returns the running test's ledger; `env` is added to the stack's own. */
export const ledgerPerTest = (stack: Stack, env: Record<string, string>): (() => TestLedger) => {
  let running: { t: TestLedger; closeStack(): Promise<void> } | undefined;
  beforeEach(async () => {
    const started = await stack.start();
    try {
      running = { t: await startTestLedger({ ...started.env, ...env }, { process: true }), closeStack: started.close };
    } catch (err) {
      await started.close();
      throw err;
    }
  });
  afterEach(async () => {
    if (!running) return;
    const { t, closeStack } = running;
    running = undefined;
    await t.close();
    await closeStack();
  });
  return () => {
    if (!running) throw new Error('the ledger runs inside a test only');
    return running.t;
  };
};
