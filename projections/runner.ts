/**
 * Runs one projection (a read model or a reactor) over the global log: catch up
 * from its checkpoint, then live. For each event, the projection's writes and the
 * checkpoint commit together, so a restart resumes exactly after the last committed
 * event. One active consumer per projection: the runner holds a lease (fencing
 * token) and a commit under a lost lease is refused by the read store.
 *
 * A handler that throws is retried on the same event with backoff: the projection
 * stops moving (visible in /readyz and metrics) rather than skipping an event.
 */
import type { Logger } from 'pino';
import { pauser } from './pause.ts';
import { reached, type EventStore, type Position, type RecordedEvent, type Subscription } from '../stores/event-store.ts';
import { LeaseLost, type CollectionSpec, type Lease, type ReadStore, type WriteOp } from '../stores/read-store.ts';

export type ReadView = Pick<ReadStore, 'get' | 'find'>;

export type Projection = {
  name: string;
  collections: readonly CollectionSpec[];
  /** The writes for one event. May read the projection's own documents (committed up to the previous event). */
  handle(event: RecordedEvent, view: ReadView): Promise<readonly WriteOp[]>;
};

export type RunnerDeps = {
  events: EventStore;
  reads: ReadStore;
  /** This process, for the lease. */
  owner: string;
  logger: Logger;
  now: () => Date;
  leaseTtlMs?: number;
  /** Called after each committed event. */
  onCommitted?: (projection: string, event: RecordedEvent, seconds: number) => void;
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
  /** Stops after the event in hand is committed; releases the lease. */
  stop(): Promise<void>;
};

const DEFAULT_LEASE_TTL_MS = 15_000;
const MAX_BACKOFF_MS = 30_000;

export const startProjection = (projection: Projection, deps: RunnerDeps): RunningProjection => {
  const ttl = deps.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const log = deps.logger.child({ projection: projection.name });
  let position: Position | null = null;
  let lastRecordedAt: Date | null = null;
  let lease: Lease | null = null;
  let subscription: Subscription | null = null;
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

  const acquire = async (): Promise<Lease | null> => {
    while (!stopping) {
      const got = await deps.reads.acquireLease(projection.name, deps.owner, ttl, deps.now());
      if (got) return got;
      await pause(ttl / 3);
    }
    return null;
  };

  /** Renews the lease on a timer, also while the log is idle; a lost lease ends the subscription. */
  const keepLease = (): NodeJS.Timeout =>
    setInterval(() => {
      if (!lease) return;
      deps.reads.acquireLease(projection.name, deps.owner, ttl, deps.now()).then(
        (renewed) => {
          if (renewed && lease && renewed.token === lease.token) lease = renewed;
          else {
            log.warn('lease lost; stopping this consumer until the lease is free again');
            lease = null;
            void subscription?.close();
          }
        },
        (err: unknown) => log.warn({ err }, 'lease renewal failed'),
      );
    }, ttl / 3);

  const consume = async (held: Lease): Promise<void> => {
    position = await deps.reads.checkpoint(projection.name);
    settleWaiters();
    subscription = deps.events.subscribeAll(position ?? 'start');
    for await (const event of subscription) {
      const current = lease;
      if (!current || current.token !== held.token) throw new LeaseLost(projection.name, held.token);
      const started = performance.now();
      const ops = await projection.handle(event, deps.reads);
      await deps.reads.commit(current, { position: event.position, streamId: event.streamId, revision: event.revision }, ops);
      position = event.position;
      lastRecordedAt = event.recordedAt;
      failing = false;
      settleWaiters();
      deps.onCommitted?.(projection.name, event, (performance.now() - started) / 1000);
      if (stopping) break;
    }
  };

  const loop = async (): Promise<void> => {
    let backoff = 100;
    while (!stopping) {
      lease = await acquire();
      if (!lease) break;
      const renewal = keepLease();
      try {
        await consume(lease);
        backoff = 100;
      } catch (err) {
        if (err instanceof LeaseLost) {
          log.warn('lease taken over; waiting to reacquire');
        } else {
          failing = true;
          log.error({ err }, 'projection failed on an event; retrying in %d ms', backoff);
          await pause(backoff);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
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
    state: () => (stopping ? 'stopped' : failing ? 'failing' : lease !== null && subscription !== null ? 'active' : 'standby'),
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

/** Creates the projection's collections (idempotent) before it starts. */
export const prepareProjections = async (reads: ReadStore, projections: readonly Projection[]): Promise<void> => {
  await reads.ensureCollections(projections.flatMap((p) => p.collections));
};
