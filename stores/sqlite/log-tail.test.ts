import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../event-store.ts';
import { recordedEvent } from '../../test/support/events.ts';
import { logTail } from './log-tail.ts';

/** A log with gaps in its seqs (as after a rolled-back write) whose file reads are counted. */
const modelLog = () => {
  const events: RecordedEvent[] = [];
  let seq = 0;
  const file = { reads: 0 };
  const append = (n: number, gap = 0): void => {
    seq += gap;
    for (let i = 0; i < n; i++) {
      seq += 1;
      events.push(recordedEvent(seq, { type: 'Happened', data: { n: seq, nested: { list: [seq] } } }, `s${seq % 3}`));
    }
  };
  /** A fresh copy per read, as the file would give. */
  const read = (afterSeq: number, limit: number): RecordedEvent[] => {
    file.reads += 1;
    return structuredClone(events.filter((e) => Number(e.position.commit) > afterSeq).slice(0, limit));
  };
  const ids = (page: readonly RecordedEvent[]): string[] => page.map((e) => e.id);
  return { append, read, file, ids, head: () => seq };
};

describe('the subscriptions’ shared tail of the log', () => {
  it('answers a second reader at the same place from what the first read: the same events, one file read', () => {
    const log = modelLog();
    log.append(10);
    const tail = logTail(log.read, 100);
    const first = tail(0, 50);
    const second = tail(0, 50);
    expect(log.ids(second)).toEqual(log.ids(first));
    expect(second[3]).toBe(first[3]);
    expect(log.file.reads).toBe(1);
  });

  it('never hides new events: a reader at the head asks the file, and the tail grows by what it read', () => {
    const log = modelLog();
    log.append(5);
    const tail = logTail(log.read, 100);
    expect(log.ids(tail(0, 50))).toEqual(['e-1', 'e-2', 'e-3', 'e-4', 'e-5']);
    expect(tail(5, 50)).toEqual([]);
    log.append(3, 2); // seqs 8, 9, 10 (6 and 7 were rolled back)
    expect(log.ids(tail(5, 50))).toEqual(['e-8', 'e-9', 'e-10']);
    const reads = log.file.reads;
    expect(log.ids(tail(2, 50))).toEqual(['e-3', 'e-4', 'e-5', 'e-8', 'e-9', 'e-10']);
    expect(log.ids(tail(6, 50))).toEqual(['e-8', 'e-9', 'e-10']);
    expect(log.file.reads).toBe(reads);
  });

  it('answers within the limit, in order, each event once', () => {
    const log = modelLog();
    log.append(20);
    const tail = logTail(log.read, 100);
    tail(0, 50);
    expect(log.ids(tail(4, 3))).toEqual(['e-5', 'e-6', 'e-7']);
    expect(log.ids(tail(18, 3))).toEqual(['e-19', 'e-20']);
  });

  it('a reader catching up from behind reads the file and does not evict the head the others share', () => {
    const log = modelLog();
    log.append(30);
    const tail = logTail(log.read, 10);
    tail(25, 50); // the head: e26..e30
    const reads = log.file.reads;
    expect(log.ids(tail(0, 5))).toEqual(['e-1', 'e-2', 'e-3', 'e-4', 'e-5']);
    expect(log.file.reads).toBe(reads + 1);
    expect(log.ids(tail(27, 50))).toEqual(['e-28', 'e-29', 'e-30']);
    expect(log.file.reads).toBe(reads + 1);
  });

  it('a reader past the tail (another process appended what nobody here read) starts a new one', () => {
    const log = modelLog();
    log.append(5);
    const tail = logTail(log.read, 100);
    tail(0, 50);
    log.append(5);
    expect(log.ids(tail(7, 50))).toEqual(['e-8', 'e-9', 'e-10']);
    const reads = log.file.reads;
    expect(log.ids(tail(8, 50))).toEqual(['e-9', 'e-10']);
    expect(log.file.reads).toBe(reads);
    // e6 and e7 are not held: asking after e5 goes to the file again.
    expect(log.ids(tail(5, 50))).toEqual(['e-6', 'e-7', 'e-8', 'e-9', 'e-10']);
    expect(log.file.reads).toBe(reads + 1);
  });

  it('holds at most its capacity: the oldest events are dropped and read from the file when asked for', () => {
    const log = modelLog();
    const tail = logTail(log.read, 4);
    log.append(3);
    tail(0, 50);
    log.append(3);
    tail(3, 50); // holds e3..e6
    const reads = log.file.reads;
    expect(log.ids(tail(2, 50))).toEqual(['e-3', 'e-4', 'e-5', 'e-6']);
    expect(log.file.reads).toBe(reads);
    expect(log.ids(tail(1, 50))).toEqual(['e-2', 'e-3', 'e-4', 'e-5', 'e-6']);
    expect(log.file.reads).toBe(reads + 1);
  });

  it('hands out frozen events: a subscriber that changed one would change it for every other', () => {
    const log = modelLog();
    log.append(2);
    const tail = logTail(log.read, 100);
    const [e] = tail(0, 1);
    if (!e) throw new Error('no event read');
    expect(() => {
      e.data.n = 99;
    }).toThrow(TypeError);
    expect(() => {
      (e.data.nested as { list: number[] }).list.push(1);
    }).toThrow(TypeError);
    expect(tail(0, 1)[0]?.data.n).toBe(1);
  });

  it('agrees with the file for many readers at random places while the log grows (gaps included)', () => {
    const log = modelLog();
    const tail = logTail(log.read, 25);
    let rnd = 7;
    const next = (n: number): number => {
      rnd = (rnd * 1103515245 + 12345) % 2 ** 31;
      return rnd % n;
    };
    const readers = Array.from({ length: 6 }, () => 0);
    for (let step = 0; step < 2000; step++) {
      if (next(4) === 0) log.append(1 + next(8), next(5) === 0 ? 1 : 0);
      const r = next(readers.length);
      if (next(50) === 0) readers[r] = next(log.head() + 1); // a reader starting over from somewhere
      const at = readers[r] ?? 0;
      const limit = 1 + next(12);
      const got = log.ids(tail(at, limit));
      const truth = log.ids(log.read(at, limit));
      // A prefix of what the file holds (the file may be ahead), never a gap.
      expect(truth.slice(0, got.length)).toEqual(got);
      if (got.length === 0) expect(truth).toEqual([]);
      const last = got.at(-1);
      if (last) readers[r] = Number(last.slice('e-'.length));
    }
  });
});
