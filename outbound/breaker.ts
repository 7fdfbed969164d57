/**
 * A circuit breaker per lane: after `threshold` failed calls in a row the lane stops calling its
 * partner for a cool-down, then lets one probe through; a failed probe doubles the cool-down (up to a
 * cap), a good one closes the breaker. Tasks wait in their queue meanwhile (nothing is lost), and the
 * lane's slots are not spent on calls that would time out. Times are monotonic milliseconds.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export type Breaker = {
  /** Whether a call may start now; in half-open, only one at a time. */
  allow(nowMs: number): boolean;
  succeeded(): void;
  failed(nowMs: number): void;
  /** A call allowed through made no call after all (the work was moot): its probe slot is free again. */
  released(): void;
  state(nowMs: number): BreakerState;
};

export type BreakerOptions = { threshold: number; cooldownMs: number; maxCooldownMs: number };

export const DEFAULT_BREAKER: BreakerOptions = { threshold: 5, cooldownMs: 2_000, maxCooldownMs: 16_000 };

export const createBreaker = (o: BreakerOptions = DEFAULT_BREAKER): Breaker => {
  let failures = 0;
  let openUntil = 0;
  let cooldown = o.cooldownMs;
  let probing = false;
  const state = (nowMs: number): BreakerState => (failures < o.threshold ? 'closed' : nowMs < openUntil ? 'open' : 'half-open');
  return {
    state,
    allow: (nowMs) => {
      const s = state(nowMs);
      if (s === 'closed') return true;
      if (s === 'open' || probing) return false;
      probing = true;
      return true;
    },
    succeeded: () => {
      failures = 0;
      cooldown = o.cooldownMs;
      probing = false;
    },
    released: () => {
      probing = false;
    },
    failed: (nowMs) => {
      const wasProbe = probing;
      probing = false;
      failures += 1;
      if (failures < o.threshold) return;
      if (wasProbe) cooldown = Math.min(o.maxCooldownMs, cooldown * 2);
      openUntil = nowMs + cooldown;
    },
  };
};
