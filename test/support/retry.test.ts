import { describe, expect, it } from 'vitest';
import { OutboundError } from '../../integrations/ports.ts';
import { withRetry } from './retry.ts';

const retryable = () => new OutboundError({ kind: 'retryable', system: 'boss', operation: 'POST /entitlements', status: 503, detail: 'HTTP 503' });
const final = () => new OutboundError({ kind: 'final', system: 'boss', operation: 'POST /entitlements', status: 422, detail: 'HTTP 422' });

/** A fake clock: records the waits, resolves at once. */
const recorder = () => {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
};

describe("withRetry (the partner-client tests' retry helper)", () => {
  it('retries retryable errors until the call succeeds', async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const result = await withRetry(
      async (attempt) => {
        calls++;
        if (attempt <= 3) throw retryable();
        return 'ok';
      },
      { baseMs: 100, maxAttempts: 8, sleep, random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(4);
    expect(waits).toEqual([50, 100, 200]);
  });

  it('stops at once on a final error and on errors that are not OutboundErrors', async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw final();
        },
        { baseMs: 10, maxAttempts: 5, sleep },
      ),
    ).rejects.toMatchObject({ kind: 'final', status: 422 });
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new TypeError('bug');
        },
        { baseMs: 10, maxAttempts: 5, sleep },
      ),
    ).rejects.toBeInstanceOf(TypeError);
    expect(calls).toBe(2);
    expect(waits).toEqual([]);
  });

  it('gives up after maxAttempts with the last retryable error', async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const retries: number[] = [];
    await expect(
      withRetry(
        async () => {
          calls++;
          throw retryable();
        },
        { baseMs: 10, maxAttempts: 3, sleep, onRetry: ({ attempt }) => retries.push(attempt) },
      ),
    ).rejects.toMatchObject({ kind: 'retryable', status: 503 });
    expect(calls).toBe(3);
    expect(waits).toHaveLength(2);
    expect(retries).toEqual([1, 2]);
  });

  it('grows the backoff exponentially with full jitter, capped', async () => {
    const { waits, sleep } = recorder();
    await expect(
      withRetry(
        async () => {
          throw retryable();
        },
        { baseMs: 1000, maxAttempts: 6, maxDelayMs: 10_000, sleep, random: () => 0.999 },
      ),
    ).rejects.toBeInstanceOf(OutboundError);
    expect(waits).toEqual([999, 1998, 3996, 7992, 9990]);
  });
});
