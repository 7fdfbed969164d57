/**
 * The one backoff rule: exponential, doubling from `baseMs` per failed attempt, capped at
 * `maxDelayMs`, with full jitter (a delay anywhere in [0, ceiling)). Used by the outbound task
 * policy, the projection runner, command retries after a write conflict, and the test retry helper.
 * Pure: the jitter comes in as a number in [0, 1).
 */
export type Backoff = { baseMs: number; maxDelayMs: number };

/** The upper bound of the wait after failed attempt number `attempt` (1-based). */
export const backoffCeiling = (b: Backoff, attempt: number): number => Math.min(b.maxDelayMs, b.baseMs * 2 ** Math.max(0, attempt - 1));

/** A full-jitter delay after failed attempt `attempt`; `jitter` in [0, 1). */
export const backoffDelay = (b: Backoff, attempt: number, jitter: number): number => Math.floor(jitter * backoffCeiling(b, attempt));
