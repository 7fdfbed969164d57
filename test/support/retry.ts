/**
 * For tests of the partner clients: retries a call on retryable OutboundErrors only, waiting the one
 * backoff rule (domain/backoff.ts). The service itself never loops on a call: the outbound task
 * engine schedules each retry as a task event (outbound/decide.ts). Anything else — a final OutboundError, a bug — is rethrown at once.
 * Sleep and randomness are injectable so tests never wait.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { backoffDelay } from '../../domain/backoff.ts';
import { isRetryable } from '../../integrations/ports.ts';

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

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? ((ms: number) => delay(ms));
  const random = opts.random ?? Math.random;
  const maxAttempts = Math.max(1, Math.floor(opts.maxAttempts));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetryable(error) || attempt >= maxAttempts) throw error;
      const delayMs = backoffDelay({ baseMs: opts.baseMs, maxDelayMs: opts.maxDelayMs ?? 60_000 }, attempt, random());
      opts.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}
