/**
 * A projection's pending batch: the writes of many events, committed in one `commit` with the
 * checkpoint of the last of them. Handlers read through `view`, which answers from the pending
 * writes first and from the store (the lease's version) after, so every handler sees the
 * projection's documents exactly as committed up to the previous event, as if each event had been
 * committed on its own. Handlers stay unchanged.
 *
 * Invariants:
 * - the batch holds only whole events: `add` takes all of one event's writes, and a commit covers
 *   every event added since the previous one, so the checkpoint never splits an event;
 * - `view.find` first commits what is pending (up to the previous event, a valid batch boundary),
 *   then queries the store: a query never misses a pending write, and needs no query engine here;
 * - documents handed out by `view.get` are the pending objects themselves, not copies: handlers treat
 *   what they read as read-only (they build new documents; they never mutate the ones they read).
 */
import type { Position, RecordedEvent } from '../stores/event-store.ts';
import type { Doc, Lease, ReadStore, WriteOp } from '../stores/read-store.ts';
import type { ReadView } from './runner.ts';

export type Batch = {
  readonly view: ReadView;
  /** Events added since the last commit. */
  readonly events: number;
  /** The last event added, committed or not. */
  readonly last: RecordedEvent | null;
  add(event: RecordedEvent, ops: readonly WriteOp[]): void;
  /** Commits the pending writes with the checkpoint of the last added event; resolves at once when nothing is pending. */
  commit(): Promise<void>;
};

export type BatchHooks = {
  /** After each commit: how many events it covered, and the position it moved the checkpoint to. */
  onCommit?(events: number, position: Position, last: RecordedEvent): void;
};

/** `pending` maps collection → id → the document as the batch leaves it (null: deleted). */
type Pending = Map<string, Map<string, Doc | null>>;

export const openBatch = (reads: ReadStore, lease: Lease, hooks: BatchHooks = {}): Batch => {
  let pending: Pending = new Map();
  let events = 0;
  let last: RecordedEvent | null = null;

  const commit = async (): Promise<void> => {
    if (events === 0 || last === null) return;
    const at = last;
    const ops: WriteOp[] = [];
    for (const [collection, docs] of pending) {
      for (const [id, doc] of docs) ops.push(doc === null ? { kind: 'delete', collection, id } : { kind: 'upsert', collection, doc });
    }
    const covered = events;
    await reads.commit(lease, { position: at.position, streamId: at.streamId, revision: at.revision }, ops);
    // Cleared only once committed: a failed commit leaves the batch as it was, to be dropped by the runner.
    pending = new Map();
    events = 0;
    hooks.onCommit?.(covered, at.position, at);
  };

  const view: ReadView = {
    get: async (collection, id) => {
      const doc = pending.get(collection)?.get(id);
      if (doc !== undefined) return doc;
      return reads.get(collection, id, lease.version);
    },
    find: async (collection, query) => {
      if (pending.get(collection)?.size) await commit();
      return reads.find(collection, query, lease.version);
    },
  };

  return {
    view,
    get events() {
      return events;
    },
    get last() {
      return last;
    },
    add(event, ops) {
      for (const op of ops) {
        let docs = pending.get(op.collection);
        if (!docs) pending.set(op.collection, (docs = new Map()));
        if (op.kind === 'upsert') docs.set(op.doc.id, op.doc);
        else docs.set(op.id, null);
      }
      events += 1;
      last = event;
    },
    commit,
  };
};
