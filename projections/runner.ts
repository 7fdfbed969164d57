/**
 * Runs one projection (a read model or a reactor) over the global log: catch up from its checkpoint,
 * page by page, then live. Events are handled one at a time, in order, and committed in batches: the
 * writes of many events and the checkpoint of the last one in one `commit` (projections/batch.ts), so
 * a restart resumes exactly after the last committed event and replays whatever a crash lost. A batch
 * is committed when it reaches `maxEvents`, when it is `maxMs` old, and whenever the log has nothing
 * more to give at once, so live events are never held back waiting for company.
 *
 * One active consumer per projection: the runner holds the lease of the projection's active version
 * (fencing token), and a commit under a lost lease is refused by the read store. When a rebuild
 * promotes a new version, the old version's lease is retired: this runner's next commit or lease
 * renewal fails, it drops its batch, looks up the active version again and carries on there, from
 * that version's checkpoint.
 *
 * A handler that throws is retried on the same event with backoff (what the batch held before it is
 * committed first): the projection stops moving (visible in /readyz and metrics) rather than skipping an event.
 */
import type { Logger } from 'pino';
import { backoffCeiling } from '../domain/backoff.ts';
import { openBatch } from './batch.ts';
import type { Projection } from './projection.ts';
import { pauser } from './pause.ts';
import { reached, type EventStore, type Position, type RecordedEvent, type Subscription } from '../stores/event-store.ts';
import { LeaseLost, type Lease, type ReadStore, type WriteOp } from '../stores/read-store.ts';

/** When a batch is committed: after this many events, or once its first event is this old. */
export type BatchLimits = { maxEvents: number; maxMs: number };

/** Live: a commit at least every 50 ms under load; catch-up: 1000 events a commit. */
export const DEFAULT_BATCH: BatchLimits = { maxEvents: 1000, maxMs: 50 };
/** Events read per page while catching up. */
const PAGE_SIZE = 1000;

/** What a consumer writing a projection's version needs: the log, the read store, a lease held as `owner`, batches. */
export type ConsumerDeps = {
  events: EventStore;
  reads: ReadStore;
  /** This process, for the lease. */
  owner: string;
  now: () => Date;
  leaseTtlMs?: number;
  batch?: Partial<BatchLimits>;
};

/** A lease lasts this long past its last renewal, the live runner's and a rebuild's alike. */
export const DEFAULT_LEASE_TTL_MS = 15_000;

export type RunnerDeps = ConsumerDeps & {
  logger: Logger;
  /** Called after each batch has committed, with its events in log order (each event once per version). */
  onCommitted?: (events: readonly RecordedEvent[]) => void;
};

export type ConsumerState = 'active' | 'standby' | 'failing' | 'stopped';

export type RunningProjection = {
  name: string;
  /** The position of the last committed event; null before the first. */
  position(): Position | null;
  /** recordedAt of the last committed event. */
  lastRecordedAt(): Date | null;
  /**
   * active: holding the lease and consuming; standby: another process holds the lease (or it is
   * being acquired); failing: stuck retrying an event; stopped.
   */
  state(): ConsumerState;
  /** Resolves once the projection has committed `target` (or anything after it). */
  waitFor(target: Position | null, timeoutMs?: number): Promise<void>;
  /** Stops after committing the events in hand; releases the lease. */
  stop(): Promise<void>;
};

const IDLE = Symbol('idle');
/** `p`'s outcome if it settles within this turn of the event loop, else IDLE (p keeps running). */
const orIdle = <T>(p: Promise<T>): Promise<T | typeof IDLE> =>
  new Promise((resolve, reject) => {
    const timer = setImmediate(() => resolve(IDLE));
    p.then(
      (v) => {
        clearImmediate(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearImmediate(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });

/** How often a consumer without the lease asks again: soon after a rebuild's switch, it carries on. */
const STANDBY_POLL_MS = 1000;
/** Between tries of a failing event or lease: the backoff rule's ceiling (one consumer, nobody to spread out from). */
const RETRY_BACKOFF = { baseMs: 100, maxDelayMs: 30_000 };

export const startProjection = (projection: Projection, deps: RunnerDeps): RunningProjection => {
  const ttl = deps.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const limits: BatchLimits = { ...DEFAULT_BATCH, ...deps.batch };
  // Without atomic commits, each write is idempotent by its own event's revision: one event per commit.
  const maxEvents = deps.reads.atomicCommit ? Math.max(1, limits.maxEvents) : 1;
  const log = deps.logger.child({ projection: projection.name });
  let position: Position | null = null;
  let lastRecordedAt: Date | null = null;
  let lease: Lease | null = null;
  /** Whether `held` is still the lease this runner holds (tokens count per version: compare both). */
  const stillHeld = (held: Lease): boolean => lease !== null && lease.token === held.token && lease.version === held.version;
  let subscription: Subscription | null = null;
  let consuming = false;
  let failing = false;
  let stopping = false;
  const waiters = new Set<{ target: Position; resolve(): void }>();
  /** Backoff and idle waits, cut short when stopping. */
  const { pause, wake } = pauser();

  const settleWaiters = (): void => {
    for (const w of waiters) {
      if (reached(position, w.target)) {
        waiters.delete(w);
        w.resolve();
      }
    }
  };

  /** The lease of the projection's active version (looked up on every try: a rebuild may switch it). */
  const acquire = async (): Promise<Lease | null> => {
    while (!stopping) {
      const { active } = await deps.reads.versions(projection.name);
      const got = await deps.reads.acquireLease(projection.name, deps.owner, ttl, deps.now(), active);
      if (got) return got;
      await pause(Math.min(ttl / 3, STANDBY_POLL_MS));
    }
    return null;
  };

  /**
   * Renews the lease on a timer, also while the log is idle. A lost lease, or a version that is no
   * longer the active one, ends the consumer: it drops what it holds and starts over.
   */
  const keepLease = (held: Lease): NodeJS.Timeout =>
    setInterval(() => {
      if (!lease) return;
      Promise.all([deps.reads.acquireLease(projection.name, deps.owner, ttl, deps.now(), held.version), deps.reads.versions(projection.name)]).then(
        ([renewed, versions]) => {
          if (renewed && lease && renewed.token === lease.token && versions.active === held.version) lease = renewed;
          else {
            log.warn(
              versions.active === held.version ? 'lease lost; stopping this consumer until the lease is free again' : 'version %d is active now; moving to it',
              versions.active,
            );
            lease = null;
            void subscription?.close();
          }
        },
        (err: unknown) => log.warn({ err }, 'lease renewal failed'),
      );
    }, ttl / 3);

  const consume = async (held: Lease): Promise<void> => {
    const resumeAt = await deps.reads.checkpoint(projection.name, held.version);
    position = resumeAt;
    settleWaiters();
    let startedAt = 0;
    // The events added but not yet reported committed (kept only for onCommitted): a commit covers
    // the oldest `covered` of them, while later ones may already be in the next batch.
    const uncommitted: RecordedEvent[] = [];
    const batch = openBatch(deps.reads, held, {
      onCommit: (covered, at, last) => {
        // A commit of a batch whose lease has gone (it was in flight when the consumer stopped) says
        // nothing about the version consumed now: it must not move the position the next consumer reads from.
        if (!stillHeld(held)) return;
        position = at;
        lastRecordedAt = last.recordedAt;
        failing = false;
        settleWaiters();
        if (deps.onCommitted) deps.onCommitted(uncommitted.splice(0, covered));
      },
    });
    const handle = async (event: RecordedEvent): Promise<void> => {
      if (!stillHeld(held)) throw new LeaseLost(projection.name, held.token);
      if (batch.events === 0) startedAt = performance.now();
      let ops: readonly WriteOp[];
      try {
        ops = await projection.handle(event, batch.view);
      } catch (err) {
        // The events before this one are good: keep them, then retry this one.
        await batch.flush().catch(() => undefined);
        throw err;
      }
      batch.add(event, ops);
      if (deps.onCommitted) uncommitted.push(event);
      if (batch.events >= maxEvents || performance.now() - startedAt >= limits.maxMs) await batch.commit();
    };

    consuming = true;
    try {
      // Catch up page by page: no waiting between events, big batches.
      let from: Position | 'start' = resumeAt ?? 'start';
      for (;;) {
        const page = await deps.events.readAll(from, PAGE_SIZE);
        for (const event of page) {
          await handle(event);
          if (stopping) break;
        }
        const last = page.at(-1);
        if (stopping || !last || page.length < PAGE_SIZE) break;
        from = last.position;
      }
      await batch.flush();
      if (stopping) return;

      // Live: commit whatever is pending as soon as the log has nothing more to give at once.
      subscription = deps.events.subscribeAll(batch.last?.position ?? resumeAt ?? 'start');
      const events = subscription[Symbol.asyncIterator]();
      for (;;) {
        const next = events.next();
        // Waits for the commit to land: with nothing else to do, a failure must not wait for the next event to surface.
        if (batch.events > 0 && (await orIdle(next)) === IDLE) await batch.flush();
        const r = await next;
        if (r.done) break;
        await handle(r.value);
        if (stopping) break;
      }
      await batch.flush();
    } finally {
      consuming = false;
    }
  };

  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!stopping) {
      try {
        lease = await acquire();
      } catch (err) {
        failing = true;
        failures += 1;
        const wait = backoffCeiling(RETRY_BACKOFF, failures);
        log.error({ err }, 'could not acquire the lease; retrying in %d ms', wait);
        await pause(wait);
        continue;
      }
      if (!lease) break;
      const held = lease;
      const renewal = keepLease(held);
      try {
        await consume(held);
        failures = 0;
      } catch (err) {
        if (err instanceof LeaseLost) {
          log.warn('lease lost or retired; waiting to acquire the active version');
        } else {
          failing = true;
          failures += 1;
          const wait = backoffCeiling(RETRY_BACKOFF, failures);
          log.error({ err }, 'projection failed on an event; retrying in %d ms', wait);
          await pause(wait);
        }
      } finally {
        clearInterval(renewal);
        await subscription?.close();
        subscription = null;
      }
    }
    if (lease) await deps.reads.releaseLease(lease).catch((err: unknown) => log.warn({ err }, 'lease release failed'));
    lease = null;
  };

  const done = loop();

  return {
    name: projection.name,
    position: () => position,
    lastRecordedAt: () => lastRecordedAt,
    state: () => (stopping ? 'stopped' : failing ? 'failing' : lease !== null && consuming ? 'active' : 'standby'),
    waitFor: (target, timeoutMs = 30_000) => {
      if (target === null || reached(position, target)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          target,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`projection ${projection.name} did not reach the position within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    stop: async () => {
      stopping = true;
      wake();
      await subscription?.close();
      await done;
    },
  };
};

/** Creates the projections' collections (idempotent) in their active versions before they start. */
export const prepareProjections = async (reads: ReadStore, projections: readonly Projection[]): Promise<void> => {
  for (const p of projections) if (p.collections.length > 0) await reads.ensureCollections(p.collections, p.name);
};
