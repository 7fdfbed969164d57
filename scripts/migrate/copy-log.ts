/**
 * Copies every event of one event store into another, in global order, keeping ids,
 * types, data (unless a transform says otherwise: --encrypt-pii), metadata and stream revisions.
 *
 * Resumable and duplicate-free by construction: each event is appended with its own
 * id at its own expected revision, so re-sending events that already arrived (after an
 * interruption) is the store's idempotent no-op, never a second copy. The checkpoint
 * (the source position of the last copied batch) only saves re-reading.
 */
import { createHash } from 'node:crypto';
import { WrongExpectedRevision, comparePositions, readLog, type EventStore, type From, type Position, type RecordedEvent } from '../../stores/event-store.ts';

export type Progress = { copied: number; total: number; position: Position | null };

export type CopyOptions = {
  /** Where to start: after this source position (the saved checkpoint), or the beginning. */
  from: From;
  /** Called after each batch is durably in the target; save the checkpoint here. */
  onBatch: (progress: Progress) => Promise<void> | void;
  /** Stops after the batch in hand. */
  signal?: AbortSignal;
  batchSize?: number;
  /** What each event's data becomes in the target (default: the same); must give the same result every time. */
  transform?: (e: RecordedEvent) => Promise<Record<string, unknown>>;
};

export class TargetDiverged extends Error {
  override readonly name = 'TargetDiverged';
}

const countAll = async (store: EventStore): Promise<number> => {
  let n = 0;
  for await (const _ of readLog(store)) n++;
  return n;
};

/** Consecutive events of one stream, appended together. */
const runsOf = (events: readonly RecordedEvent[]): RecordedEvent[][] => {
  const runs: RecordedEvent[][] = [];
  for (const e of events) {
    const run = runs.at(-1);
    const prev = run?.at(-1);
    if (run && prev && prev.streamId === e.streamId && prev.revision + 1 === e.revision) run.push(e);
    else runs.push([e]);
  }
  return runs;
};

export const copyLog = async (source: EventStore, target: EventStore, opts: CopyOptions): Promise<Progress> => {
  const total = await countAll(source);
  let copied = opts.from === 'start' ? 0 : await countUpTo(source, opts.from);
  let from = opts.from;
  let position: Position | null = opts.from === 'start' ? null : opts.from;
  while (!opts.signal?.aborted) {
    const batch = await source.readAll(from, opts.batchSize ?? 1000);
    if (batch.length === 0) break;
    for (const run of runsOf(batch)) {
      const first = run[0];
      if (!first) continue;
      const data: Record<string, unknown>[] = [];
      for (const e of run) data.push(opts.transform ? await opts.transform(e) : e.data);
      try {
        await target.append(
          first.streamId,
          run.map((e, i) => ({ id: e.id, type: e.type, data: data[i] ?? e.data, metadata: e.metadata })),
          first.revision === 0 ? 'no_stream' : first.revision - 1,
        );
      } catch (err) {
        if (err instanceof WrongExpectedRevision) {
          throw new TargetDiverged(`stream ${first.streamId} in the target does not match the source at revision ${first.revision}`);
        }
        throw err;
      }
    }
    const last = batch.at(-1);
    if (!last) break;
    copied += batch.length;
    position = last.position;
    from = last.position;
    await opts.onBatch({ copied, total, position });
  }
  return { copied, total, position };
};

const countUpTo = async (store: EventStore, upTo: Position): Promise<number> => {
  let n = 0;
  for await (const e of readLog(store)) {
    if (comparePositions(e.position, upTo) > 0) return n;
    n++;
  }
  return n;
};

/** A digest of the log's content in global order: ids, streams, revisions, types, data, metadata. */
export const digestLog = async (store: EventStore): Promise<{ count: number; digest: string }> => {
  const h = createHash('sha256');
  let count = 0;
  for await (const e of readLog(store)) {
    h.update(JSON.stringify([e.id, e.streamId, e.revision, e.type, e.data, e.metadata]));
    h.update('\n');
    count++;
  }
  return { count, digest: h.digest('hex') };
};
