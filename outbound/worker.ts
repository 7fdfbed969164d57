/**
 * The outbound worker: moves due tasks between the queue, the task decider and the actions. It
 * leases, runs lanes, claims and fences; every rule about retries and giving up is the decider's.
 *
 * Invariants:
 * - each lane has its own concurrency, timeout and breaker, and its tasks come from its own queues
 *   (outbound/queue.ts), most urgent first: a slow or dead partner never holds another lane's work;
 * - a call is made only under a claim appended to the task's stream with its expected revision, so
 *   of any number of workers on one event store, exactly one makes each attempt — whatever read
 *   store each uses, and whether or not they share the lease;
 * - right before every call, the fence is checked on this process's monotonic clock: the lease was
 *   renewed recently enough and the claim has not lapsed. A process that was paused past either
 *   makes no call after it wakes; another worker has taken the task over;
 * - losing the lease is standby, not a failure: in-flight attempts finish or are fenced, and the
 *   worker waits to get the lease back.
 */
import type { Logger } from 'pino';
import type { LedgerDeps } from '../commands/deps.ts';
import { execute, load } from '../commands/execute.ts';
import { OutboundError } from '../integrations/ports.ts';
import { pauser } from '../projections/pause.ts';
import type { ConsumerState } from '../projections/runner.ts';
import { reached, type Position } from '../stores/event-store.ts';
import type { Lease, ReadStore } from '../stores/read-store.ts';
import { contextFor, type Action, type Attempt } from './action.ts';
import { createBreaker, type Breaker, type BreakerOptions } from './breaker.ts';
import { TaskNotClaimable, taskAggregate, type Outcome } from './decide.ts';
import { LANES, QUEUES_OF, type Lane, type LaneLimits } from './lanes.ts';
import { policyFor, type PolicyConfig } from './policy.ts';
import { OUTBOUND_TASKS, dueQuery, queuedTask } from './queue.ts';
import { nextTryAt, taskStream, type GiveUpReason, type TaskKind, type TaskSpec } from './task.ts';

export type OutboundOutcome = 'ok' | 'retryable' | 'final' | 'error';

export type WorkerDeps = {
  ledger: LedgerDeps;
  reads: ReadStore;
  actions: Record<TaskKind, Action>;
  lanes: Record<Lane, LaneLimits>;
  /** Each lane's circuit breaker (threshold, first cool-down); default DEFAULT_BREAKER. */
  breaker?: BreakerOptions;
  policy: PolicyConfig;
  /** This process, for the lease and the claims. */
  owner: string;
  logger: Logger;
  /** How often an idle worker looks for due tasks. */
  pollMs?: number;
  leaseTtlMs?: number;
  /** In [0, 1): backoff jitter. */
  random?: () => number;
  onOutcome?: (kind: TaskKind, outcome: OutboundOutcome) => void;
  onGaveUp?: (kind: TaskKind, reason: GiveUpReason) => void;
};

export type OutboundWorker = {
  state(): ConsumerState;
  /** Looks for due work now (new tasks, a freed slot). */
  wake(): void;
  stop(): Promise<void>;
};

/** A claim outlives its calls' timeouts by this much, so their own timeouts end them first. */
const CLAIM_MARGIN_MS = 3_000;
/** How long an attempt may take before it claims (its reads, e.g. BOSS waiting for the entitlements read model). */
const PREPARE_MS = 30_000;
/** Fences are checked this long before the lease or the claim would lapse. */
const FENCE_MARGIN_MS = 1_000;
/**
 * How long a stop waits for calls in flight. A call still unanswered after it is abandoned: its claim
 * lapses and the attempt is made again (same idempotency key) by another worker or after the restart.
 */
const STOP_GRACE_MS = 3_000;
/** How long a nudge waits for more finished tasks before the next dispatch round. */
const NUDGE_MS = 5;

/** This worker may no longer call for the task: its lease or its claim lapsed. */
class Fenced extends Error {
  override readonly name = 'Fenced';
}

class TimedOut extends Error {
  override readonly name = 'TimedOut';
  constructor(
    /** before-call: the attempt's own work was slow (no partner was called); call: the partner did not answer in time. */
    readonly phase: 'before-call' | 'call',
    message: string,
  ) {
    super(message);
  }
}

/** How the partner did on an attempt: answered, failed (for the breaker), or not called; `error`: our own failure. */
type Partner = 'answered' | 'failed' | 'none' | 'error';

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err)).slice(0, 300);

export const startOutboundWorker = (deps: WorkerDeps): OutboundWorker => {
  const log = deps.logger.child({ component: 'outbound' });
  const pollMs = deps.pollMs ?? 100;
  const ttl = deps.leaseTtlMs ?? 15_000;
  const random = deps.random ?? Math.random;
  const { ledger } = deps;
  let stopping = false;
  let failing = false;
  let lease: Lease | null = null;
  /** Monotonic ms until which the lease is surely still ours. */
  let leaseValidUntil = 0;
  const inFlight = Object.fromEntries(LANES.map((l) => [l, new Map<string, Promise<void>>()])) as Record<Lane, Map<string, Promise<void>>>;
  const breakers = Object.fromEntries(LANES.map((l) => [l, createBreaker(deps.breaker)])) as Record<Lane, Breaker>;
  /** Tasks this worker settled, until the queue has seen the outcome (so a stale row is not run again). */
  const settled = new Map<string, Position>();
  const { pause, wake } = pauser();
  let idle: { wake(): void } | null = null;
  /**
   * A freed slot or new work starts the next round after NUDGE_MS, not at once: the tasks that finish
   * meanwhile share that round (one round is a query per queue) instead of each paying for a round.
   */
  let nudging: NodeJS.Timeout | undefined;
  const nudge = (): void => {
    if (nudging !== undefined || idle === null) return;
    nudging = setTimeout(() => {
      nudging = undefined;
      idle?.wake();
    }, NUDGE_MS);
  };

  const leaseHeld = (): boolean => lease !== null && performance.now() < leaseValidUntil;

  const renewLease = async (): Promise<void> => {
    const asked = performance.now();
    const got = await deps.reads.acquireLease('outbound-worker', deps.owner, ttl, ledger.now());
    if (got && (!lease || got.token === lease.token)) {
      if (!lease) log.info({ token: got.token }, 'outbound worker active');
      lease = got;
      leaseValidUntil = asked + ttl - FENCE_MARGIN_MS;
      return;
    }
    if (lease) log.warn('outbound worker lease lost; standby until it is free again');
    lease = null;
    leaseValidUntil = 0;
  };
  const renewal = setInterval(() => {
    if (!stopping && lease) renewLease().catch((err: unknown) => log.warn({ err }, 'lease renewal failed'));
  }, ttl / 3);

  const runTask = async (lane: Lane, spec: TaskSpec): Promise<void> => {
    const breaker = breakers[lane];
    // The breaker hears of every task it let through exactly once, whatever throws: a probe never judged would shut the lane for good.
    let judged = false;
    const judge = (partner: Partner): void => {
      if (judged) return;
      judged = true;
      if (partner === 'answered') breaker.succeeded();
      else if (partner === 'failed') breaker.failed(performance.now());
      else breaker.released();
    };
    try {
      const state = await load(ledger.store, taskAggregate, taskStream(spec.id));
      const nowIso = ledger.now().toISOString();
      // Finished, claimed elsewhere, or not due yet: the queue is behind the task's stream.
      if (state.status !== 'pending' || (state.claim ? state.claim.until > nowIso : nextTryAt(spec, state) > nowIso)) return;
      const tried = await attemptTask(lane, spec, state);
      if (!tried) return;
      judge(tried.partner);
      deps.onOutcome?.(
        spec.kind,
        tried.partner === 'error' ? 'error' : tried.outcome.kind === 'refused' ? 'final' : tried.outcome.kind === 'retry' ? 'retryable' : 'ok',
      );
      await recordOutcome(spec, tried.attempt, tried.outcome);
    } finally {
      judge('none');
    }
  };

  /**
   * Runs the task's action under a time limit: PREPARE_MS until it claims (its reads before the call),
   * then the claim's hold, which outlasts every call the fence lets start. Undefined: this worker was
   * fenced off and made no call (another worker has the task, or this one stops).
   */
  const attemptTask = async (
    lane: Lane,
    spec: TaskSpec,
    state: Attempt['state'],
  ): Promise<{ partner: Partner; outcome: Outcome; attempt: number | null } | undefined> => {
    const limits = deps.lanes[lane];
    /** This attempt's claim once made; `abandoned` once the worker stopped waiting for the action. */
    const held: { claim: { attempt: number; validUntil: number } | null; abandoned: boolean } = { claim: null, abandoned: false };
    const fence = (): void => {
      // A call may start only if its own timeout ends it before the claim lapses: no two calls for one task overlap.
      const room = held.claim !== null && performance.now() + limits.timeoutMs <= held.claim.validUntil;
      if (stopping || held.abandoned || !leaseHeld() || !room) throw new Fenced(`task ${spec.id}: fenced`);
    };
    let timer: NodeJS.Timeout | undefined;
    let expire: (err: TimedOut) => void = () => {};
    const limit = new Promise<never>((_, reject) => {
      expire = reject;
    });
    const arm = (ms: number, err: () => TimedOut): void => {
      clearTimeout(timer);
      timer = setTimeout(() => expire(err()), ms);
    };
    arm(PREPARE_MS, () => new TimedOut('before-call', `no call started within ${PREPARE_MS} ms`));
    const attempt: Attempt = {
      spec,
      state,
      claim: async ({ sent, calls = 1 } = {}) => {
        // Stopping: calls under way finish, no new one starts.
        if (stopping || held.abandoned || !leaseHeld()) throw new Fenced(`task ${spec.id}: fenced before its claim`);
        const holdMs = calls * limits.timeoutMs + CLAIM_MARGIN_MS;
        const asked = performance.now();
        arm(holdMs, () => new TimedOut('call', `timed out after ${limits.timeoutMs} ms`));
        const r = await execute(
          ledger,
          taskAggregate,
          { type: 'ClaimAttempt', task: spec, worker: deps.owner, holdMs, ...(sent && { sent }), now: ledger.now() },
          contextFor(spec, 'claim'),
        );
        const claim = r.events[0];
        if (claim?.type !== 'TaskAttemptClaimed') throw new Error(`task ${spec.id}: the claim appended nothing`);
        held.claim = { attempt: claim.data.attempt, validUntil: asked + holdMs - FENCE_MARGIN_MS };
        fence();
      },
      fence,
      now: ledger.now,
    };

    try {
      const outcome = await Promise.race([deps.actions[spec.kind](attempt), limit]);
      return { partner: held.claim ? 'answered' : 'none', outcome, attempt: held.claim?.attempt ?? null };
    } catch (err) {
      const attemptNo = held.claim?.attempt ?? null;
      if (err instanceof Fenced || err instanceof TaskNotClaimable) {
        log.info({ taskId: spec.id, reason: err.message }, 'attempt not made: another worker has the task');
        return undefined;
      }
      if (err instanceof OutboundError) {
        // A 409 is about this request (a busy card), not the partner's health: it never trips the breaker.
        const partner = err.kind === 'retryable' && err.status !== 409 ? 'failed' : 'answered';
        return {
          partner,
          outcome: err.kind === 'retryable' ? { kind: 'retry', error: err.message } : { kind: 'refused', error: err.message },
          attempt: attemptNo,
        };
      }
      if (err instanceof TimedOut) {
        // Slow before the call is ours (a read model behind, a slow store), never the partner's.
        if (err.phase === 'before-call') log.error({ taskId: spec.id, error: err.message }, 'task attempt made no call in time');
        return { partner: err.phase === 'call' ? 'failed' : 'error', outcome: { kind: 'retry', error: err.message }, attempt: attemptNo };
      }
      log.error({ err, taskId: spec.id }, 'task attempt failed');
      return { partner: 'error', outcome: { kind: 'retry', error: messageOf(err) }, attempt: attemptNo };
    } finally {
      clearTimeout(timer);
      // Whatever the action still does after a time limit, it makes no new claim and no call.
      held.abandoned = true;
    }
  };

  /** Records what the attempt came to; the decider applies the task's policy (retry when, defer, give up). */
  const recordOutcome = async (spec: TaskSpec, attempt: number | null, outcome: Outcome): Promise<void> => {
    try {
      const r = await execute(
        ledger,
        taskAggregate,
        { type: 'RecordOutcome', task: spec, worker: deps.owner, attempt, outcome, policy: policyFor(spec, deps.policy), jitter: random(), now: ledger.now() },
        contextFor(spec, 'outcome'),
      );
      if (r.position) settled.set(spec.id, r.position);
      for (const e of r.events) {
        if (e.type === 'TaskAbandoned') {
          log.warn({ taskId: spec.id, kind: spec.kind, reason: e.data.reason, error: e.data.error }, 'task gave up');
          deps.onGaveUp?.(spec.kind, e.data.reason ?? 'exhausted');
        } else if (e.type === 'TaskAttemptFailed')
          log.info({ taskId: spec.id, attempt: e.data.attempt, retryAt: e.data.retryAt, error: e.data.error }, 'task will be retried');
      }
    } catch (err) {
      if (!(err instanceof TaskNotClaimable)) throw err;
      log.info({ taskId: spec.id }, 'outcome not recorded: another worker took the task over');
    }
  };

  const start = (lane: Lane, spec: TaskSpec): void => {
    const flying = inFlight[lane];
    const run = runTask(lane, spec)
      .catch((err: unknown) => log.error({ err, taskId: spec.id }, 'task run failed'))
      .finally(() => {
        flying.delete(spec.id);
        nudge();
      });
    flying.set(spec.id, run);
  };

  /** Starts what is due, lane by lane, queue by queue (most urgent first), up to each lane's free slots. */
  const dispatch = async (): Promise<void> => {
    const seen = await deps.reads.checkpoint('outbound');
    for (const [id, p] of settled) if (reached(seen, p)) settled.delete(id);
    const now = ledger.now();
    const mono = performance.now();
    for (const lane of LANES) {
      const flying = inFlight[lane];
      const breaker = breakers[lane];
      let free = deps.lanes[lane].concurrency - flying.size;
      for (const queue of QUEUES_OF[lane]) {
        if (free <= 0 || stopping || !leaseHeld()) break;
        const page = await deps.reads.find(OUTBOUND_TASKS, dueQuery(queue, now, free + flying.size + settled.size));
        for (const doc of page.items) {
          if (free <= 0) break;
          if (flying.has(doc.id) || settled.has(doc.id)) continue;
          if (!breaker.allow(mono)) break;
          start(lane, queuedTask(doc).spec);
          free -= 1;
        }
      }
    }
  };

  const waitIdle = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        idle = null;
        resolve();
      }
      idle = { wake: done };
    });

  const loop = async (): Promise<void> => {
    while (!stopping) {
      try {
        if (!leaseHeld()) await renewLease();
        if (!lease) {
          await pause(ttl / 3);
          continue;
        }
        await dispatch();
        failing = false;
        if (!stopping) await waitIdle(pollMs);
      } catch (err) {
        failing = true;
        log.error({ err }, 'outbound round failed');
        await pause(1000);
      }
    }
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(LANES.flatMap((l) => [...inFlight[l].values()])),
      new Promise<void>((resolve) => {
        grace = setTimeout(resolve, STOP_GRACE_MS);
      }),
    ]);
    clearTimeout(grace);
    clearInterval(renewal);
    if (lease) await deps.reads.releaseLease(lease).catch((err: unknown) => log.warn({ err }, 'lease release failed'));
    lease = null;
  };

  const finished = loop();
  return {
    state: () => (stopping ? 'stopped' : failing ? 'failing' : leaseHeld() ? 'active' : 'standby'),
    wake: nudge,
    stop: async () => {
      stopping = true;
      wake();
      clearTimeout(nudging);
      idle?.wake();
      await finished;
    },
  };
};
