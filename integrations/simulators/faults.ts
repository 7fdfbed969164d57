/**
 * Fault injection shared by the three simulators. Each simulator owns one FaultState: its settings
 * (changed at start and at runtime, e.g. by POST /_sim/faults) and a seeded RNG, so a run with the
 * same seed and the same call order fails the same calls.
 *
 * Invariant: a call's fate (fail or not) is decided synchronously on arrival, before any latency,
 * so concurrent calls consume failNext and the RNG in arrival order.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { OutboundError, kindForStatus, type OutboundSystem } from '../ports.ts';

export type CommonFaults = {
  /** Added before every API call (not /_sim calls). */
  latencyMs: number;
  /** Probability in [0, 1] that an API call fails (answers failStatus), drawn from the seeded RNG. */
  errorRate: number;
  /** Seed of the RNG; every patch that names it restarts the sequence. */
  seed: number;
  /** The next K API calls fail (answer failStatus), then the simulator behaves again (deterministic). */
  failNext: number;
  /**
   * Operations (e.g. "POST /trades") that do their work at once but answer only after slowMs: a hung
   * partner whose calls time out on our side although they took effect on theirs.
   */
  slowOperations: string[];
  slowMs: number;
  /** Operations that fail (answer failStatus) without doing anything, until cleared. */
  failOperations: string[];
  /** What a failed call answers: 503 by default; a 4xx (a firewall, a stale key) is final on our side. From 400 to 599. */
  failStatus: number;
};

export const defaultCommonFaults: CommonFaults = {
  latencyMs: 0,
  errorRate: 0,
  seed: 1,
  failNext: 0,
  slowOperations: [],
  slowMs: 0,
  failOperations: [],
  failStatus: 503,
};

/** mulberry32: a tiny deterministic PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keys whose numbers may be fractional or negative; every other number is an integer ≥ 0. */
const FRACTION_KEYS = new Set(['errorRate']);
const SIGNED_KEYS = new Set(['amountMismatchFen']);
/** Keys that hold an HTTP error status. */
const STATUS_KEYS = new Set(['failStatus']);

/**
 * Merges a JSON patch into the current faults. Each key must already exist and keep its type
 * (number, boolean or string[]); unknown keys and bad values are reported, nothing is applied.
 */
export function mergeFaults<F extends CommonFaults>(current: F, patch: unknown): { ok: true; faults: F } | { ok: false; errors: string[] } {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return { ok: false, errors: ['body must be a JSON object'] };
  const next: Record<string, unknown> = { ...current };
  const errors: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    const was = next[key];
    if (was === undefined) errors.push(`${key}: unknown fault`);
    else if (Array.isArray(was)) {
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) next[key] = value;
      else errors.push(`${key}: expected an array of strings`);
    } else if (typeof was === 'boolean') {
      if (typeof value === 'boolean') next[key] = value;
      else errors.push(`${key}: expected a boolean`);
    } else if (typeof was !== 'number') errors.push(`${key}: not settable`);
    else if (typeof value !== 'number' || !Number.isFinite(value)) errors.push(`${key}: expected a number`);
    else if (FRACTION_KEYS.has(key) ? value < 0 || value > 1 : !Number.isInteger(value) || (!SIGNED_KEYS.has(key) && value < 0))
      errors.push(`${key}: out of range`);
    else if (STATUS_KEYS.has(key) && (value < 400 || value > 599)) errors.push(`${key}: out of range`);
    else next[key] = value;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, faults: next as F };
}

export type FaultState<F extends CommonFaults> = {
  get(): F;
  /** Applies a patch (see mergeFaults); throws a final 400 OutboundError when it is invalid. */
  set(patch: unknown): F;
  /** Runs the transport faults for one API call: maybe waits, maybe throws failStatus. */
  enter(operation: string): Promise<void>;
  /**
   * One API call: its transport faults, then the work, then (for a slow operation) the wait before the
   * answer. Counted as in flight from arrival to answer.
   */
  run<T>(operation: string, work: () => T | Promise<T>): Promise<T>;
  /** Calls in flight (arrived, not answered yet), per operation. */
  inFlight(): Record<string, number>;
};

export function createFaultState<F extends CommonFaults>(system: OutboundSystem, initial: F, signal: AbortSignal): FaultState<F> {
  let faults = initial;
  let random = seededRandom(faults.seed);
  const active = new Map<string, number>();
  const enter = async (operation: string): Promise<void> => {
    let fail = false;
    if (faults.failNext > 0) {
      faults = { ...faults, failNext: faults.failNext - 1 };
      fail = true;
    } else if (faults.errorRate > 0) fail = random() < faults.errorRate;
    if (faults.failOperations.includes(operation)) fail = true;
    if (faults.latencyMs > 0) await delay(faults.latencyMs, undefined, { signal });
    if (fail) throw simError(system, operation, faults.failStatus, `simulated ${faults.failStatus}`);
  };
  return {
    get: () => faults,
    set(patch) {
      const merged = mergeFaults(faults, patch);
      if (!merged.ok) throw new OutboundError({ kind: 'final', system, operation: 'POST /_sim/faults', status: 400, detail: merged.errors.join('; ') });
      if (typeof patch === 'object' && patch !== null && 'seed' in patch) random = seededRandom(merged.faults.seed);
      faults = merged.faults;
      return faults;
    },
    enter,
    async run(operation, work) {
      active.set(operation, (active.get(operation) ?? 0) + 1);
      try {
        await enter(operation);
        const result = await work();
        const slow = faults.slowOperations.includes(operation) ? faults.slowMs : 0;
        if (slow > 0) await delay(slow, undefined, { signal });
        return result;
      } finally {
        active.set(operation, (active.get(operation) ?? 1) - 1);
      }
    },
    inFlight: () => Object.fromEntries([...active].filter(([, n]) => n > 0)),
  };
}

export const simError = (system: OutboundSystem, operation: string, status: number, detail: string): OutboundError =>
  new OutboundError({ kind: kindForStatus(status), system, operation, status, detail });
