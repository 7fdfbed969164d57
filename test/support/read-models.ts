/**
 * Every document of a set of read models, through the read store port, for comparing two builds:
 * collections with an index are paged through whole (no filter); helper collections without one
 * are read by the order and payment ids the test knows, and by the task kinds (the queue's counts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { compose } from '../../app/service.ts';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../http/logger.ts';
import { TASK_KINDS } from '../../outbound/task.ts';
import { rebuild } from '../../projections/rebuild.ts';
import { startProjection } from '../../projections/runner.ts';
import type { Projection } from '../../projections/projection.ts';
import type { EventStore } from '../../stores/event-store.ts';
import { everyDoc, type Doc, type ReadStore } from '../../stores/read-store.ts';
import { openSqliteReadStore } from '../../stores/sqlite/read-store.ts';

export const readModelContents = async (
  reads: ReadStore,
  models: readonly Projection[],
  ids: { orders: readonly string[]; payments: readonly string[] },
): Promise<Record<string, Doc[]>> => {
  const out: Record<string, Doc[]> = {};
  for (const spec of models.flatMap((m) => m.collections)) {
    const docs = new Map<string, Doc>();
    const field = spec.indexes[0];
    if (field) {
      for await (const d of everyDoc(reads, spec.name, { orderBy: { field, direction: 'asc' }, limit: 500 })) docs.set(d.id, d);
    } else {
      for (const id of [...ids.orders, ...ids.payments, ...TASK_KINDS]) {
        const d = await reads.get(spec.name, id);
        if (d) docs.set(id, d);
      }
    }
    out[spec.name] = [...docs.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }
  return out;
};

/** Runs the read models over the log up to its head as it is now, then stops them (what a restarted service would do). */
export const catchUp = async (models: readonly Projection[], events: EventStore, reads: ReadStore): Promise<void> => {
  const head = await events.headPosition();
  const running = models.map((p) => startProjection(p, { events, reads, owner: 'test-catch-up', logger: pino({ level: 'silent' }), now: () => new Date() }));
  try {
    for (const r of running) await r.waitFor(head, 60_000);
  } finally {
    await Promise.all(running.map((r) => r.stop()));
  }
};

const READ_MODELS = ['orders', 'entitlements', 'outbound', 'finance'];

export type Compared = {
  /** The service's read models (active versions), caught up with its log. */
  kept: Record<string, Doc[]>;
  /** The same read models built from nothing out of the same log. */
  fresh: Record<string, Doc[]>;
  /** Orders in the log, and each read model's active version. */
  orders: number;
  versions: Record<string, number>;
};

/**
 * For a stopped service's data dir (its environment): its read models, caught up with the log as its next
 * start would, beside the same read models built from nothing out of that log; both read through the port.
 */
export const compareWithFreshBuild = async (env: Record<string, string>): Promise<Compared> => {
  const stores = await compose(loadConfig(env), createLogger('silent'));
  const freshDir = mkdtempSync(join(tmpdir(), 'tvpay-fresh-'));
  const fresh = openSqliteReadStore(join(freshDir, 'read.db'));
  try {
    const models = READ_MODELS.map((name) => stores.definitions.find((d) => d.name === name)).filter((d) => d !== undefined);
    await catchUp(models, stores.ledger.store, stores.reads);
    await rebuild(models, { events: stores.ledger.store, reads: fresh, owner: 'fresh', now: () => new Date() });
    // Every order in the log, also any whose caller never saw the answer.
    const placed = (await stores.ledger.store.readAll('start', 1_000_000)).flatMap((e) =>
      e.type === 'OrderPlaced' ? [{ orderId: String(e.data['orderId']), paymentId: String(e.data['paymentId']) }] : [],
    );
    const ids = { orders: placed.map((o) => o.orderId), payments: placed.map((o) => o.paymentId) };
    const versions: Record<string, number> = {};
    for (const name of READ_MODELS) versions[name] = (await stores.reads.versions(name)).active;
    return { kept: await readModelContents(stores.reads, models, ids), fresh: await readModelContents(fresh, models, ids), orders: placed.length, versions };
  } finally {
    await fresh.close();
    await stores.close();
    rmSync(freshDir, { recursive: true, force: true });
  }
};
