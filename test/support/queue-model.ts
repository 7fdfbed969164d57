/**
 * The outbound queue read model on its own: a fresh read store (SQLite in a temporary folder unless
 * one is given), holding the queue's lease, fed events by hand, one commit each (as the live runner
 * commits a lone event).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OrderEvent } from '../../domain/order/order.ts';
import { outboundQueueProjection } from '../../outbound/queue.ts';
import type { TaskEvent } from '../../outbound/task.ts';
import type { Lease, ReadStore } from '../../stores/read-store.ts';
import { openSqliteReadStore } from '../../stores/sqlite/read-store.ts';
import { recordedEvent } from './events.ts';

/** The queue's clock: event n is recorded at T0 + n ms; `iso(s)` is T0 + s seconds. */
export const T0 = Date.parse('2026-11-25T08:00:00.000Z');
export const iso = (s: number): string => new Date(T0 + s * 1000).toISOString();

export const queueProjection = outboundQueueProjection({ paymentQueryAfterSeconds: 120, callbacks: false });

export type QueueModel = {
  dir: string;
  reads: ReadStore;
  lease: Lease;
  /** Handles the event as the log's event number `seq` and commits what the queue writes for it (again, to replay it). */
  apply(seq: number, streamId: string, e: OrderEvent | TaskEvent): Promise<void>;
  /** `apply` as the next event of the log. */
  feed(streamId: string, e: OrderEvent | TaskEvent): Promise<void>;
  close(): Promise<void>;
};

export const openQueueModel = async (store?: ReadStore): Promise<QueueModel> => {
  const dir = mkdtempSync(join(tmpdir(), 'tvpay-queue-'));
  const reads = store ?? openSqliteReadStore(join(dir, 'read.db'));
  await reads.ensureCollections(queueProjection.collections);
  const lease = await reads.acquireLease(queueProjection.name, 'test', 60_000, new Date(T0));
  if (!lease) throw new Error('no lease on a fresh read store');
  const apply: QueueModel['apply'] = async (seq, streamId, e) => {
    const event = recordedEvent(seq, e, streamId, new Date(T0 + seq));
    await reads.commit(lease, { position: event.position, streamId, revision: event.revision }, await queueProjection.handle(event, reads));
  };
  let last = 0;
  return {
    dir,
    reads,
    lease,
    apply,
    feed: (streamId, e) => apply(++last, streamId, e),
    close: async () => {
      await reads.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
