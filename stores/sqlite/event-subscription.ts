/**
 * A pull-based subscription to the global log of the SQLite event store.
 *
 * Invariants:
 * - at most one page (`pageSize` events) is held in memory; the next page is read from the
 *   database only when the consumer has taken the previous one (backpressure by construction);
 * - events are handed out in `seq` order, each exactly once: the cursor `afterSeq` only moves
 *   forward, to the last `seq` of a page that was read;
 * - no gaps: SQLite has one writer at a time and a read sees a consistent snapshot, so when a
 *   reader sees `seq` N every smaller `seq` that will ever exist is already visible;
 * - when the log is exhausted the subscription waits for a local commit (`wake`), a poll
 *   interval (appends by other processes on the same file), or `close`, then reads again;
 * - `close` resolves a pending `next()` with `done` promptly.
 */
import type { RecordedEvent, Subscription } from '../event-store.ts';

export type LogSubscription = Subscription & {
  /** Called by the store after each local commit, so a waiting subscriber reads at once. */
  wake(): void;
};

export type LogSubscriptionOptions = {
  /** Reads up to `limit` events with `seq > afterSeq`, in `seq` order. */
  readPage(afterSeq: number, limit: number): RecordedEvent[];
  afterSeq: number;
  pageSize: number;
  pollMs: number;
  onClose(): void;
};

const done: IteratorReturnResult<undefined> = { done: true, value: undefined };

export const logSubscription = (opts: LogSubscriptionOptions): LogSubscription => {
  let afterSeq = opts.afterSeq;
  let page: RecordedEvent[] = [];
  let index = 0;
  let closed = false;
  let wakeWaiter: (() => void) | null = null;
  // next() calls are served one after another even if the caller does not await each one.
  let chain: Promise<unknown> = Promise.resolve();

  const wake = (): void => {
    wakeWaiter?.();
  };

  const waitForChange = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(release, opts.pollMs);
      function release(): void {
        clearTimeout(timer);
        wakeWaiter = null;
        resolve();
      }
      wakeWaiter = release;
    });

  const step = async (): Promise<IteratorResult<RecordedEvent, undefined>> => {
    for (;;) {
      if (closed) return done;
      const event = page[index];
      if (event !== undefined) {
        index += 1;
        return { done: false, value: event };
      }
      page = opts.readPage(afterSeq, opts.pageSize);
      index = 0;
      const last = page[page.length - 1];
      if (last !== undefined) {
        afterSeq = Number(last.position.commit);
        continue;
      }
      await waitForChange();
    }
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    page = [];
    wake();
    opts.onClose();
  };

  const iterator: AsyncIterator<RecordedEvent, undefined> = {
    next: () => {
      const result = chain.then(step);
      chain = result.catch(() => undefined);
      return result;
    },
    return: async () => {
      await close();
      return done;
    },
  };

  return {
    [Symbol.asyncIterator]: () => iterator,
    close,
    wake,
  };
};
