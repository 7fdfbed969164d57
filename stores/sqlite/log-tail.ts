/**
 * The newest stretch of the log as this store's subscriptions last read it, shared by all of them: the
 * live read models and the task queue all follow the head, so without it each one reads and parses
 * every new event again.
 *
 * Invariants:
 * - the window holds every event of the log with `base < seq ≤ hi` (`hi`: the newest held), in `seq`
 *   order: it starts as one page read from the file after `base`, and only grows by a page read after `hi`;
 * - a page served from the window is what the file would answer after the same `afterSeq`, or a prefix
 *   of it (the file may hold newer events): in order, no gaps, each event once. A reader at or past
 *   `hi` always reads the file, so new events are never hidden;
 * - a reader behind `base` (catching up) reads the file and leaves the window alone, so it cannot
 *   evict the head the others share; a reader past `hi` (events appended by another process that
 *   nobody here has read) starts a new window;
 * - the events are frozen: one object is handed to every subscriber, so none may change it;
 * - at most `capacity` events are held: the oldest are dropped and `base` moves up past them.
 */
import type { RecordedEvent } from '../event-store.ts';
import { deepFreeze } from '../frozen.ts';

export type ReadPage = (afterSeq: number, limit: number) => RecordedEvent[];

const seqOf = (e: RecordedEvent): number => Number(e.position.commit);

/** The first index in `events` (sorted by seq) whose seq is above `afterSeq`. */
const firstAfter = (events: readonly RecordedEvent[], afterSeq: number): number => {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqOf(events[mid] as RecordedEvent) <= afterSeq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

export const logTail = (read: ReadPage, capacity: number): ReadPage => {
  let events: RecordedEvent[] = [];
  /** Every event of the log after `base`, up to the newest held, is held. */
  let base = 0;

  return (afterSeq, limit) => {
    const newest = events.at(-1);
    const hi = newest ? seqOf(newest) : base;
    if (afterSeq >= base && afterSeq < hi) {
      const start = firstAfter(events, afterSeq);
      return events.slice(start, start + limit);
    }
    const page = read(afterSeq, limit);
    if (page.length === 0) return page;
    for (const e of page) deepFreeze(e);
    if (newest && afterSeq === hi) {
      events.push(...page);
    } else if (!newest || afterSeq > hi) {
      events = [...page];
      base = afterSeq;
    } else {
      return page; // behind the window
    }
    if (events.length > capacity) {
      const dropped = events.splice(0, events.length - capacity);
      base = seqOf(dropped.at(-1) as RecordedEvent);
    }
    return page;
  };
};
