/**
 * Rebuilds read models beside the live ones, in one pass over the log, then switches to them.
 *
 * 1. Begin: each projection gets a new, empty version of its collections and its lease
 *    (ReadStore.beginVersion). The live version keeps serving queries and its consumer keeps running.
 * 2. Replay: the log is read once, page by page, from the start; every event goes through every
 *    projection's handler into that projection's batch (projections/batch.ts), committed to the new
 *    version with its checkpoint every `maxEvents` events. No secondary index is maintained meanwhile.
 * 3. Index: the new versions get their indexes, then the events that arrived during the replay are read.
 * 4. Switch: each projection is promoted once it has reached its live version's checkpoint. The first
 *    attempt usually finds the live consumer a few events ahead; that attempt freezes the live version
 *    (its consumer pauses), the tail is read once more, and the next attempt switches. Queries move to
 *    the new version in that one step; the service's consumer follows it (projections/runner.ts).
 * 5. Drop: the old versions are dropped once no reader can still be using them.
 *
 * Invariants: an event is handled by every projection exactly once per build, in log order; each
 * projection's checkpoint commits with its writes, so the batches of a build are exactly as durable as
 * the live runner's; a build that dies is abandoned (the live version never noticed) and the next
 * rebuild starts over. The build holds its leases by renewal; if one is lost, it stops.
 */
import { LeaseLost, type Lease } from '../stores/read-store.ts';
import type { Position, RecordedEvent } from '../stores/event-store.ts';
import { openBatch, type Batch } from './batch.ts';
import { DEFAULT_LEASE_TTL_MS, type BatchLimits, type ConsumerDeps } from './runner.ts';
import type { Projection } from './projection.ts';

export type RebuildPhase = 'replay' | 'index' | 'switch' | 'drop' | 'done';

export type RebuildProgress = {
  phase: RebuildPhase;
  /** Events read so far. */
  events: number;
  /** Where the log ended when the rebuild started, and where it has got to (opaque positions, comparable). */
  head: Position | null;
  position: Position | null;
  /** Share of the log replayed, 0..1 (from positions: exact on SQLite, by bytes on EventStoreDB). */
  fraction: number;
  seconds: number;
};

/** `batch`: events per commit while replaying. */
export type RebuildDeps = ConsumerDeps & {
  /** Events per page while replaying. */
  pageSize?: number;
  /** Called after every page, and at each phase change. */
  onProgress?: (p: RebuildProgress) => void;
};

export type RebuildResult = {
  events: number;
  seconds: number;
  /** Seconds spent in each phase. */
  phases: Record<Exclude<RebuildPhase, 'done'>, number>;
  versions: Record<string, number>;
};

/** Bigger batches commit less often but hold more in memory: 5000 events keep a million-event rebuild under 300 MB. */
const DEFAULT_REBUILD_BATCH: BatchLimits = { maxEvents: 5000, maxMs: 1000 };
const DEFAULT_PAGE = 2000;
/** Promotion attempts before giving up (each one reads the tail again; the second normally succeeds). */
const MAX_SWITCH_ATTEMPTS = 20;

export class RebuildRefused extends Error {
  override readonly name = 'RebuildRefused';
}

type Build = { projection: Projection; lease: Lease; batch: Batch; promoted: boolean };

const fractionOf = (at: Position | null, head: Position | null): number => {
  if (!head || head.commit === 0n) return 1;
  if (!at) return 0;
  return Math.min(1, Number((at.commit * 10_000n) / head.commit) / 10_000);
};

export const rebuild = async (projections: readonly Projection[], deps: RebuildDeps): Promise<RebuildResult> => {
  const ttl = deps.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const limits: BatchLimits = { ...DEFAULT_REBUILD_BATCH, ...deps.batch };
  const maxEvents = deps.reads.atomicCommit ? limits.maxEvents : 1;
  const pageSize = deps.pageSize ?? DEFAULT_PAGE;
  const started = performance.now();
  const head = await deps.events.headPosition();
  let events = 0;
  let position: Position | null = null;
  const phases: RebuildResult['phases'] = { replay: 0, index: 0, switch: 0, drop: 0 };
  let current: RebuildPhase = 'replay';
  let phaseStarted = started;
  const report = (phase: RebuildPhase): void => {
    if (phase !== current) {
      const now = performance.now();
      if (current !== 'done') phases[current] += (now - phaseStarted) / 1000;
      current = phase;
      phaseStarted = now;
    }
    deps.onProgress?.({
      phase,
      events,
      head,
      position,
      fraction: phase === 'replay' ? fractionOf(position, head) : 1,
      seconds: (performance.now() - started) / 1000,
    });
  };

  const builds: Build[] = [];
  let lost: Error | null = null;
  const renewal = setInterval(() => {
    for (const b of builds) {
      // A promoted version's lease was handed to the service's consumer: renewing it here would take it back.
      if (b.promoted) continue;
      deps.reads.acquireLease(b.projection.name, deps.owner, ttl, deps.now(), b.lease.version).then(
        (renewed) => {
          if (renewed?.token === b.lease.token) b.lease = renewed;
          else if (!b.promoted) lost ??= new LeaseLost(b.projection.name, b.lease.token);
        },
        () => undefined, // a failed renewal is tried again on the next tick; a lost lease fails the next commit
      );
    }
  }, ttl / 3);

  try {
    for (const projection of projections) {
      const lease = await deps.reads.beginVersion(projection.name, projection.collections, deps.owner, ttl, deps.now());
      if (!lease) throw new RebuildRefused(`${projection.name}: another rebuild is running (its lease is held); try again when it has finished`);
      builds.push({ projection, lease, batch: openBatch(deps.reads, lease, { fresh: true }), promoted: false });
    }
    const commitAll = async (): Promise<void> => {
      if (lost) throw lost;
      for (const b of builds) await b.batch.commit();
    };
    const flushAll = async (): Promise<void> => {
      if (lost) throw lost;
      for (const b of builds) await b.batch.flush();
    };

    /** Reads from `position` to the head as it is now, through every unpromoted projection. */
    const replay = async (): Promise<void> => {
      for (;;) {
        const page: RecordedEvent[] = await deps.events.readAll(position ?? 'start', pageSize);
        for (const event of page) {
          for (const b of builds) {
            if (b.promoted) continue;
            b.batch.add(event, await b.projection.handle(event, b.batch.view));
          }
          events += 1;
          if (events % maxEvents === 0) await commitAll();
        }
        const last = page.at(-1);
        if (last) position = last.position;
        report('replay');
        if (page.length < pageSize) break;
      }
      await flushAll();
    };

    await replay();
    report('index');
    for (const b of builds) await deps.reads.indexVersion(b.lease);
    report('switch');
    for (let attempt = 1; builds.some((b) => !b.promoted); attempt++) {
      if (attempt > MAX_SWITCH_ATTEMPTS) throw new Error(`could not catch up with the live read models in ${MAX_SWITCH_ATTEMPTS} attempts`);
      await replay();
      for (const b of builds) if (!b.promoted) b.promoted = await deps.reads.promote(b.lease);
    }
    report('drop');
    await Promise.all(builds.map((b) => deps.reads.dropRetired(b.projection.name)));
    report('done');
    return {
      events,
      seconds: (performance.now() - started) / 1000,
      phases,
      versions: Object.fromEntries(builds.map((b) => [b.projection.name, b.lease.version])),
    };
  } finally {
    clearInterval(renewal);
    // An unpromoted build is left for the next rebuild to drop; its lease is freed at once.
    for (const b of builds) if (!b.promoted) await deps.reads.releaseLease(b.lease).catch(() => undefined);
  }
};
