/**
 * A projection's pending batch: the writes of many events, committed in one `commit` with the
 * checkpoint of the last of them. Handlers read through `view`, which answers from what this batch
 * holds first and from the store (the lease's version) after, so every handler sees the
 * projection's documents exactly as committed up to the previous event, as if each event had been
 * committed on its own. Handlers stay unchanged.
 *
 * What the view answers from, newest first: the pending writes; the batch being committed (at most
 * one commit is in flight: `commit` starts it and carries on, so handling overlaps the store's work);
 * the last few committed batches (most reads are of documents written moments ago); with `fresh`, a
 * filter of every id ever written, so a document never written is known absent without asking the store;
 * and finally the store.
 *
 * Invariants:
 * - the batch holds only whole events, and a commit covers every event added before it: the
 *   checkpoint never splits an event, and commits land in order (one in flight at a time);
 * - once a commit has failed, every later commit, flush and query of the batch fails with it: no
 *   later checkpoint can land over writes that never did;
 * - the caches are this consumer's own writes: valid while it is the version's only writer (it holds
 *   the lease). Should another owner take over, this consumer's next commit is refused (fencing) and
 *   the runner drops the batch with its caches;
 * - `view.find` first commits and waits for what is pending (a valid batch boundary: up to the
 *   previous event), then queries the store: a query never misses a pending write;
 * - documents handed out by `view.get` are the held objects themselves, not copies: handlers treat
 *   what they read as read-only (they build new documents; they never mutate the ones they read).
 */
import type { Position, RecordedEvent } from '../stores/event-store.ts';
import type { Doc, Lease, ReadStore, WriteOp } from '../stores/read-store.ts';
import type { ReadView } from './projection.ts';

export type Batch = {
  readonly view: ReadView;
  /** Events added since the last commit started. */
  readonly events: number;
  /** The last event added, committed or not. */
  readonly last: RecordedEvent | null;
  add(event: RecordedEvent, ops: readonly WriteOp[]): void;
  /**
   * Starts committing what is pending (after the previous commit has landed) and returns; a failure
   * surfaces here or at the next commit/flush. Resolves at once when nothing is pending.
   */
  commit(): Promise<void>;
  /** Commits what is pending and waits until every commit has landed. */
  flush(): Promise<void>;
};

export type BatchOptions = {
  /** After each commit has landed: how many events it covered, and the position it moved the checkpoint to. */
  onCommit?(events: number, position: Position, last: RecordedEvent): void;
  /** The version was empty when this consumer began it (a rebuild): unwritten ids are known absent. */
  fresh?: boolean;
  /** Committed batches kept readable in memory. */
  recent?: number;
};

/** collection → id → the document as the batch leaves it (null: deleted). */
type Writes = Map<string, Map<string, Doc | null>>;

const DEFAULT_RECENT = 2;

export const openBatch = (reads: ReadStore, lease: Lease, options: BatchOptions = {}): Batch => {
  let pending: Writes = new Map();
  let events = 0;
  let last: RecordedEvent | null = null;
  let inFlight: { writes: Writes; done: Promise<void> } | null = null;
  /** Committed batches, newest first. */
  const recent: Writes[] = [];
  const keep = options.recent ?? DEFAULT_RECENT;
  const written = options.fresh ? new Map<string, IdFilter>() : null;

  /**
   * A commit that failed (not only a lost lease: a locked or full store, a network error). Its events'
   * writes are lost, so nothing after them may commit: the checkpoint would move past them. The batch
   * is spent; the runner drops it and resumes from the stored checkpoint.
   */
  let failed: { error: unknown } | null = null;

  const settle = async (): Promise<void> => {
    if (failed) throw failed.error;
    const flight = inFlight;
    if (!flight) return;
    try {
      await flight.done;
    } catch (error) {
      failed = { error };
      throw error;
    } finally {
      if (inFlight === flight) inFlight = null;
    }
    recent.unshift(flight.writes);
    if (recent.length > keep) recent.pop();
  };

  const commit = async (): Promise<void> => {
    await settle();
    if (events === 0 || last === null) return;
    const at = last;
    const writes = pending;
    const covered = events;
    const ops: WriteOp[] = [];
    for (const [collection, docs] of writes) {
      for (const [id, doc] of docs) ops.push(doc === null ? { kind: 'delete', collection, id } : { kind: 'upsert', collection, doc });
    }
    pending = new Map();
    events = 0;
    const done = reads.commit(lease, { position: at.position, streamId: at.streamId, revision: at.revision }, ops).then(() => {
      options.onCommit?.(covered, at.position, at);
    });
    done.catch(() => undefined); // observed by the next settle()
    inFlight = { writes, done };
  };

  /** The document as this consumer last wrote it (null: deleted), or undefined when it holds none. */
  const held = (collection: string, id: string): Doc | null | undefined => {
    const doc = pending.get(collection)?.get(id);
    if (doc !== undefined) return doc;
    const flying = inFlight?.writes.get(collection)?.get(id);
    if (flying !== undefined) return flying;
    for (const batch of recent) {
      const found = batch.get(collection)?.get(id);
      if (found !== undefined) return found;
    }
    return undefined;
  };

  const view: ReadView = {
    get: async (collection, id) => {
      // Every document this consumer holds was written by it, so the filter answers first.
      if (written && !written.get(collection)?.mightHave(id)) return null;
      const doc = held(collection, id);
      if (doc !== undefined) return doc;
      return reads.get(collection, id, lease.version);
    },
    find: async (collection, query) => {
      if (pending.get(collection)?.size || inFlight?.writes.get(collection)?.size) {
        await commit();
        await settle();
      }
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
        if (!docs) {
          docs = new Map();
          pending.set(op.collection, docs);
        }
        if (op.kind === 'upsert') {
          docs.set(op.doc.id, op.doc);
          if (written) {
            let filter = written.get(op.collection);
            if (!filter) {
              filter = idFilter();
              written.set(op.collection, filter);
            }
            filter.add(op.doc.id);
          }
        } else docs.set(op.id, null);
      }
      events += 1;
      last = event;
    },
    commit,
    flush: async () => {
      await commit();
      await settle();
    },
  };
};

/** A Bloom filter of ids: `mightHave` is false only for an id never added. Fixed size, so memory does not grow with the log. */
type IdFilter = { add(id: string): void; mightHave(id: string): boolean };

const FILTER_BITS = 1 << 23; // 1 MiB: about 2% false positives at a million ids, more beyond (then the store answers)
const HASHES = 5;

const idFilter = (): IdFilter => {
  const bits = new Uint32Array(FILTER_BITS / 32);
  /** Two FNV-1a variants; the k hashes are h1 + i·h2 (Kirsch–Mitzenmacher). */
  const hashes = (id: string): [number, number] => {
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    return [h1 >>> 0, (h2 >>> 0) | 1];
  };
  return {
    add(id) {
      const [h1, h2] = hashes(id);
      for (let i = 0; i < HASHES; i++) {
        const bit = (h1 + i * h2) & (FILTER_BITS - 1);
        bits[bit >>> 5] = (bits[bit >>> 5] ?? 0) | (1 << (bit & 31));
      }
    },
    mightHave(id) {
      const [h1, h2] = hashes(id);
      for (let i = 0; i < HASHES; i++) {
        const bit = (h1 + i * h2) & (FILTER_BITS - 1);
        if (((bits[bit >>> 5] ?? 0) & (1 << (bit & 31))) === 0) return false;
      }
      return true;
    },
  };
};
