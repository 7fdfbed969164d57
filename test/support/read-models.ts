/**
 * Every document of a set of read models, through the read store port, for comparing two builds:
 * collections with an index are paged through whole (no filter); helper collections without one
 * are read by the order and payment ids the test knows.
 */
import pino from 'pino';
import { startProjection, type Projection } from '../../projections/runner.ts';
import type { EventStore } from '../../stores/event-store.ts';
import type { Doc, ReadStore } from '../../stores/read-store.ts';

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
      let cursor: string | undefined;
      do {
        const page = await reads.find(spec.name, { orderBy: { field, direction: 'asc' }, limit: 500, ...(cursor !== undefined && { cursor }) });
        for (const d of page.items) docs.set(d.id, d);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
    } else {
      for (const id of [...ids.orders, ...ids.payments]) {
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
