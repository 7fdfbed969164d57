/**
 * Exponential backoff with full jitter (delay = random() × min(maxDelayMs, baseMs × 2^(attempt−1))),
 * for retryable OutboundErrors only. Anything else — a final OutboundError, a bug — is rethrown at once.
 * Sleep and randomness are injectable so tests never wait.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { isRetryable } from './ports.ts';

export type RetryOptions = {
  baseMs: number;
  /** Total attempts including the first; ≥ 1. */
  maxAttempts: number;
  /** Cap on one delay; default 60 000 ms. */
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1); default Math.random. */
  random?: () => number;
  /** Called before each wait, e.g. to log or count; `error` is the retryable OutboundError. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
};

/** The upper bound of the wait after failed attempt number `attempt` (1-based). */
export const backoffCeiling = (attempt: number, baseMs: number, maxDelayMs = 60_000): number =>
  Math.min(maxDelayMs, baseMs * 2 ** Math.max(0, attempt - 1));

/** A full-jitter delay after failed attempt `attempt`; for reactors that schedule retries themselves. */
export const backoffDelay = (attempt: number, baseMs: number, random: () => number = Math.random, maxDelayMs?: number): number =>
  Math.floor(random() * backoffCeiling(attempt, baseMs, maxDelayMs));

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? ((ms: number) => delay(ms));
  const random = opts.random ?? Math.random;
  const maxAttempts = Math.max(1, Math.floor(opts.maxAttempts));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetryable(error) || attempt >= maxAttempts) throw error;
      const delayMs = backoffDelay(attempt, opts.baseMs, random, opts.maxDelayMs);
      opts.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}
