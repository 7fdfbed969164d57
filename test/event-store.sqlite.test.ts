import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WrongExpectedRevision, type NewEvent, type RecordedEvent } from '../stores/event-store.ts';
import { DuplicateEventId, openSqliteEventStore, type SqliteEventStore } from '../stores/sqlite/event-store.ts';
import { eventStoreContract } from './contracts/event-store.contract.ts';
import { waitUntil } from './support/wait.ts';
import { withTimeout } from './support/timeout.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

eventStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tvpay-es-'));
  const store = await openSqliteEventStore(join(dir, 'events.db'), { pollMs: 50 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const metadata = { correlationId: 'c', causationId: 'c', actor: { role: 'test', client: 'sqlite' }, schemaVersion: 1 };
const event = (data: Record<string, unknown> = {}): NewEvent => ({ id: randomUUID(), type: 'Happened', data, metadata });

const failureOf = async (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );

const readEverything = async (store: SqliteEventStore): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for (;;) {
    const last = out[out.length - 1];
    const page = await store.readAll(last === undefined ? 'start' : last.position, 1000);
    if (page.length === 0) return out;
    out.push(...page);
  }
};

describe('sqlite event store', () => {
  let dir: string;
  let file: string;
  const opened: SqliteEventStore[] = [];
  const open = async (): Promise<SqliteEventStore> => {
    const store = await openSqliteEventStore(file, { pollMs: 50 });
    opened.push(store);
    return store;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tvpay-es-'));
    file = join(dir, 'events.db');
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  describe('group commit', () => {
    it('50 concurrent appends share one transaction', async () => {
      const store = await open();
      const before = store.stats().transactions;
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.append(`g-${i}`, [event()], 'no_stream')));
      expect(results.every((r) => r.nextRevision === 0)).toBe(true);
      expect(store.stats().transactions - before).toBe(1);
      expect(store.stats().events).toBe(50);
    });

    it('a failing append does not fail the others in its transaction, and leaves nothing behind', async () => {
      const store = await open();
      await store.append('taken', [event()], 'no_stream');
      const used = event();
      await store.append('used', [used], 'no_stream');
      const before = store.stats().transactions;
      const twice = event();
      const settled = await Promise.allSettled([
        store.append('ok-1', [event(), event()], 'no_stream'),
        store.append('taken', [event()], 'no_stream'), // wrong expected revision
        store.append('ok-2', [event()], 'any'),
        store.append('partial', [event(), event(), used], 'no_stream'), // third id is taken: whole append refused
        store.append('dup-in-batch', [twice, twice], 'no_stream'),
        store.append('ok-3', [event(), event(), event()], 'no_stream'),
      ]);
      expect(store.stats().transactions - before).toBe(1);
      expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect(settled[1]?.status === 'rejected' && settled[1].reason).toBeInstanceOf(WrongExpectedRevision);
      expect(settled[3]?.status === 'rejected' && settled[3].reason).toBeInstanceOf(DuplicateEventId);
      expect(settled[4]?.status === 'rejected' && settled[4].reason).toBeInstanceOf(DuplicateEventId);
      expect(await store.readStream('partial')).toEqual([]);
      expect(await store.readStream('dup-in-batch')).toEqual([]);
      const all = await readEverything(store);
      expect(all.map((e) => Number(e.position.commit))).toEqual(all.map((_, i) => i + 1));
      expect(all).toHaveLength(2 + 2 + 1 + 3);
    });
  });

  describe('event ids', () => {
    it('an id used in another stream is DuplicateEventId when the revision matches, else WrongExpectedRevision', async () => {
      const store = await open();
      const e = event();
      await store.append('one', [e], 'no_stream');
      const dup = await failureOf(store.append('two', [e], 'no_stream'));
      expect(dup).toBeInstanceOf(DuplicateEventId);
      expect(dup).toMatchObject({ streamId: 'two', eventId: e.id });
      await store.append('two', [event()], 'no_stream');
      const wrong = await failureOf(store.append('two', [e], 'no_stream'));
      expect(wrong).toBeInstanceOf(WrongExpectedRevision);
      expect(await store.readStream('two')).toHaveLength(1);
    });

    it('an idempotent retry, even inside a busy transaction, writes nothing', async () => {
      const store = await open();
      const batch = [event(), event()];
      const first = await store.append('s', batch, 'no_stream');
      const before = store.stats();
      const [retry, other] = await Promise.all([store.append('s', batch, 'no_stream'), store.append('t', [event()], 'no_stream')]);
      expect(retry).toEqual(first);
      expect(other.nextRevision).toBe(0);
      expect(store.stats()).toEqual({ transactions: before.transactions + 1, appends: before.appends + 1, events: before.events + 1 });
      expect((await store.append('s', [event()], 1)).nextRevision).toBe(2);
    });

    it('rejects unusable input before it reaches the database', async () => {
      const store = await open();
      await expect(store.append('s', [], 'any')).rejects.toThrow(/at least one event/);
      await expect(store.append('s', [event()], -1)).rejects.toThrow(/invalid expected revision/);
      await expect(store.append('s', [{ ...event(), data: { big: 1n } }], 'any')).rejects.toThrow();
      expect(await store.readStream('s')).toEqual([]);
    });
  });

  describe('several writers on one file', () => {
    it('a revision cached by one store is re-checked when another store appended', async () => {
      const a = await open();
      const b = await open();
      await a.append('s', [event()], 'no_stream');
      await b.append('s', [event()], 0);
      const stale = await failureOf(a.append('s', [event()], 0));
      expect(stale).toMatchObject({ name: 'WrongExpectedRevision', actual: 1 });
      expect((await a.append('s', [event()], 'any')).nextRevision).toBe(2);
      await b.append('s', [event()], 2);
      expect((await a.append('s', [event(), event()], 'any')).nextRevision).toBe(5);
      expect((await a.readStream('s')).map((e) => e.revision)).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it('another process writing the same file at full speed: every append of ours still succeeds (each write waits its turn)', async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/support/event-store-writer.ts'), file], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      try {
        // Wait until the other process is writing.
        await withTimeout(new Promise<void>((resolve) => child.stdout.once('data', () => resolve())), 20_000, 'the other writer to start');
        const store = await open();
        // New streams: each append reads the stream's revision before it writes, in the same transaction,
        // which is where a deferred transaction meets the other process's commits.
        const streams = Array.from({ length: 1200 }, (_, i) => `ours-${i}`);
        const results: PromiseSettledResult<unknown>[] = [];
        for (let round = 0; round < 3; round++) {
          const some = streams.slice(round * 400, (round + 1) * 400);
          results.push(...(await Promise.allSettled(some.map((s, i) => store.append(s, [event()], i % 2 === 0 ? 'no_stream' : 'any')))));
        }
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        for (const s of streams.slice(0, 10)) expect(await store.readStream(s)).toHaveLength(1);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
    });

    it('subscriptions following the head share one read of it: the same frozen events, in the same order', async () => {
      const store = await open();
      const written = [event({ n: 1 }), event({ n: 2 }), event({ n: 3 })];
      await store.append('shared', written, 'no_stream');
      const a = store.subscribeAll('start')[Symbol.asyncIterator]();
      const b = store.subscribeAll('start')[Symbol.asyncIterator]();
      const takeThree = async (it: AsyncIterator<RecordedEvent>): Promise<RecordedEvent[]> => {
        const out: RecordedEvent[] = [];
        while (out.length < 3) {
          const r = await withTimeout(it.next(), 5000, 'subscribed event');
          if (!r.done) out.push(r.value);
        }
        return out;
      };
      const seenByA = await takeThree(a);
      const seenByB = await takeThree(b);
      expect(seenByA.map((e) => e.id)).toEqual(written.map((e) => e.id));
      expect(seenByB).toEqual(seenByA);
      expect(seenByB[1]).toBe(seenByA[1]);
      expect(Object.isFrozen(seenByA[0]?.data)).toBe(true);
      // What readAll gives is the reader's own: auditors read the file, not what the subscriptions hold.
      const [own] = await store.readAll('start', 1);
      expect(own).toEqual(seenByA[0]);
      expect(own).not.toBe(seenByA[0]);
      expect(Object.isFrozen(own)).toBe(false);
      await a.return?.();
      await b.return?.();
    });

    it("a subscription sees another store's appends (polling)", async () => {
      const a = await open();
      const b = await open();
      const sub = a.subscribeAll('start');
      const next = sub[Symbol.asyncIterator]().next();
      const e = event();
      await b.append('elsewhere', [e], 'no_stream');
      const got = await withTimeout(next, 5000, 'event from the other store');
      expect(got.done === false && got.value.id).toBe(e.id);
      await sub.close();
    });
  });

  describe('durability', () => {
    it('appends survive close and reopen; close flushes queued appends first', async () => {
      const store = await openSqliteEventStore(file);
      const first = await store.append('s', [event({ n: 1 })], 'no_stream');
      const queued = store.append('s', [event({ n: 2 })], 0);
      await store.close();
      const second = await queued;
      await expect(store.append('s', [event()], 'any')).rejects.toThrow(/closed/);

      const reopened = await open();
      const read = await reopened.readStream('s');
      expect(read.map((e) => e.data['n'])).toEqual([1, 2]);
      expect(read.map((e) => e.position)).toEqual([first.position, second.position]);
      expect(await reopened.headPosition()).toEqual(second.position);
      expect((await reopened.append('s', [event()], 1)).nextRevision).toBe(2);
    });

    it('a writer process killed mid-append leaves only whole appends, with contiguous positions', async () => {
      const watcher = await open();
      const watched: RecordedEvent[] = [];
      const sub = watcher.subscribeAll('start');
      const watching = (async () => {
        for await (const e of sub) watched.push(e);
      })();

      const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/support/event-store-writer.ts'), file], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Kill at a varying point of the writer's loop (it reports in bursts, one per group commit).
      const progressBeforeKill = 100 + Math.floor(Math.random() * 200);
      const reported = new Set<number>();
      let stderr = '';
      let buffered = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (chunk: Buffer) => {
            buffered += chunk.toString();
            const lines = buffered.split('\n');
            buffered = lines.pop() ?? '';
            for (const line of lines) reported.add(Number(line));
            if (reported.size >= progressBeforeKill) resolve();
          });
          void exited.then(() => reject(new Error(`writer exited early: ${stderr.slice(0, 500)}`)));
        }),
        20_000,
        'the writer to report progress',
      );
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      const store = await open();
      const all = await readEverything(store);
      // Global positions are contiguous: 1..n.
      expect(all.map((e) => Number(e.position.commit))).toEqual(all.map((_, i) => i + 1));

      // Every batch present is whole, in one stream, at consecutive revisions and positions.
      const batches = new Map<number, RecordedEvent[]>();
      for (const e of all) {
        const batch = Number(e.data['batch']);
        batches.set(batch, [...(batches.get(batch) ?? []), e]);
      }
      for (const [batch, list] of batches) {
        const first = list[0];
        if (first === undefined) continue;
        expect(list, `batch ${batch}`).toHaveLength(Number(first.data['size']));
        list.forEach((e, i) => {
          expect(e.data['index']).toBe(i);
          expect(e.streamId).toBe(first.streamId);
          expect(e.revision).toBe(first.revision + i);
          expect(Number(e.position.commit)).toBe(Number(first.position.commit) + i);
        });
      }
      // Every batch the writer reported (resolved) is durable.
      for (const batch of reported) expect(batches.has(batch), `reported batch ${batch}`).toBe(true);
      // Each stream's revisions are 0..k-1.
      const revisions = new Map<string, number[]>();
      for (const e of all) revisions.set(e.streamId, [...(revisions.get(e.streamId) ?? []), e.revision]);
      for (const list of revisions.values()) expect(list).toEqual(list.map((_, i) => i));

      // A subscriber in this process saw the other process's appends, in order, once each.
      await waitUntil(() => watched.length >= all.length, 'the subscriber to see every event', { timeoutMs: 10_000, intervalMs: 20 }).catch(() => undefined);
      await sub.close();
      await watching;
      expect(watched.map((e) => e.id)).toEqual(all.map((e) => e.id));
    });
  });
});
