/**
 * The kept stream states: a command reads only what was appended since the state it starts from, and
 * still decides on everything the store holds (another writer's events included); states handed out
 * are frozen; the cache only moves forward and stays bounded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventStore, NewEvent, RecordedEvent, StreamSlice } from '../stores/event-store.ts';
import { openSqliteEventStore } from '../stores/sqlite/event-store.ts';
import { recordedEvent } from '../test/support/events.ts';
import type { Aggregate, StoredEvent } from './aggregates.ts';
import { execute, load, type CommandContext } from './execute.ts';
import { MAX_STREAMS, readFolded, remember } from './stream-states.ts';

/** A register: `Set` writes its value unless it holds that value already. */
type Register = { value: number | null; history: number[] };
type SetValue = { type: 'Set'; id: string; value: number };
type ValueSet = { type: 'ValueSet'; data: { value: number } };

const register: Aggregate<Register, SetValue, ValueSet> = {
  name: 'register',
  streamOf: (cmd) => `register-${cmd.id}`,
  initialState: { value: null, history: [] },
  evolve: (s, e) => ({ value: e.data.value, history: [...s.history, e.data.value] }),
  decide: (cmd, s) => (s.value === cmd.value ? [] : [{ type: 'ValueSet', data: { value: cmd.value } }]),
  read: (e: StoredEvent) => (e.type === 'ValueSet' && typeof e.data.value === 'number' ? { type: 'ValueSet', data: { value: e.data.value } } : undefined),
};

const ctx = (commandKey: string): CommandContext => ({ correlationId: 'c', causationId: 'c', actor: { role: 'test', client: 'test' }, commandKey });
const metadata = { correlationId: 'other', causationId: 'other', actor: { role: 'test', client: 'other-process' }, schemaVersion: 1 };
const valueSet = (id: string, value: number): NewEvent => ({ id, type: 'ValueSet', data: { value }, metadata });

/** The store as a command sees it, recording every slice of a stream it asks for. */
const spied = (store: EventStore): { store: EventStore; asked: StreamSlice[] } => {
  const asked: StreamSlice[] = [];
  return {
    asked,
    store: {
      ...store,
      readStream: (id, slice) => {
        asked.push(slice ?? {});
        return store.readStream(id, slice);
      },
    },
  };
};

describe('kept stream states', () => {
  let dir: string;
  let raw: EventStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tvpay-states-'));
    raw = await openSqliteEventStore(join(dir, 'events.db'));
  });
  afterEach(async () => {
    await raw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a later command on the stream reads only what was appended after the state it kept', async () => {
    const { store, asked } = spied(raw);
    const deps = { store, now: () => new Date() };
    await execute(deps, register, { type: 'Set', id: 'a', value: 1 }, ctx('k1'));
    await execute(deps, register, { type: 'Set', id: 'a', value: 2 }, ctx('k2'));
    const again = await execute(deps, register, { type: 'Set', id: 'a', value: 2 }, ctx('k3'));
    expect(again.events).toEqual([]);
    expect(again.state).toEqual({ value: 2, history: [1, 2] });
    expect(asked).toEqual([{ from: 0 }, { from: 1 }, { from: 2 }]);
    expect((await raw.readStream('register-a')).map((e) => e.data)).toEqual([{ value: 1 }, { value: 2 }]);
  });

  it("another writer's events are folded in before deciding: a kept state never makes a wrong 'unchanged'", async () => {
    const { store } = spied(raw);
    const deps = { store, now: () => new Date() };
    await execute(deps, register, { type: 'Set', id: 'a', value: 1 }, ctx('k1'));
    // Another process sets 2 behind this one's back.
    await raw.append('register-a', [valueSet('00000000-0000-4000-8000-000000000002', 2)], 0);
    const result = await execute(deps, register, { type: 'Set', id: 'a', value: 1 }, ctx('k2'));
    expect(result.events).toEqual([{ type: 'ValueSet', data: { value: 1 } }]);
    expect(result.state).toEqual({ value: 1, history: [1, 2, 1] });
    expect((await raw.readStream('register-a')).map((e) => e.data.value)).toEqual([1, 2, 1]);
  });

  it('a writer that gets in between the read and the append: refused, then decided again on the new state', async () => {
    let sneaked = false;
    const racing: EventStore = {
      ...raw,
      append: async (streamId, events, expected) => {
        if (!sneaked) {
          sneaked = true;
          await raw.append(streamId, [valueSet('00000000-0000-4000-8000-000000000005', 5)], expected);
        }
        return raw.append(streamId, events, expected);
      },
    };
    const deps = { store: racing, now: () => new Date() };
    await raw.append('register-b', [valueSet('00000000-0000-4000-8000-000000000001', 1)], 'no_stream');
    await load(racing, register, 'register-b'); // kept at revision 0
    const result = await execute(deps, register, { type: 'Set', id: 'b', value: 7 }, ctx('k7'));
    expect(result.state).toEqual({ value: 7, history: [1, 5, 7] });
    expect((await raw.readStream('register-b')).map((e) => [e.revision, e.data.value])).toEqual([
      [0, 1],
      [1, 5],
      [2, 7],
    ]);
    // What it kept is the state after its own append.
    expect(await load(racing, register, 'register-b')).toEqual({ value: 7, history: [1, 5, 7] });
  });

  it('states are handed out frozen, to the last nested value', async () => {
    const deps = { store: raw, now: () => new Date() };
    const { state } = await execute(deps, register, { type: 'Set', id: 'a', value: 1 }, ctx('k1'));
    const loaded = await load(raw, register, 'register-a');
    for (const s of [state, loaded]) {
      expect(Object.isFrozen(s)).toBe(true);
      expect(Object.isFrozen(s.history)).toBe(true);
      expect(() => (s.history as number[]).push(2)).toThrow(TypeError);
    }
  });

  it('an older state never replaces a newer one', async () => {
    const { store, asked } = spied(raw);
    remember(store, register, 'register-c', { state: { value: 5, history: [5] }, revision: 5 });
    remember(store, register, 'register-c', { state: { value: 3, history: [3] }, revision: 3 });
    expect(await readFolded(store, register, 'register-c')).toEqual({ state: { value: 5, history: [5] }, revision: 5 });
    expect(asked).toEqual([{ from: 6 }]);
  });

  it("a state kept under another aggregate's name is not used: the stream is read whole", async () => {
    const { store, asked } = spied(raw);
    await raw.append('register-d', [valueSet('00000000-0000-4000-8000-000000000004', 4)], 'no_stream');
    remember(store, { ...register, name: 'other' }, 'register-d', { state: { value: 9, history: [9] }, revision: 0 });
    expect(await readFolded(store, register, 'register-d')).toEqual({ state: { value: 4, history: [4] }, revision: 0 });
    expect(asked).toEqual([{ from: 0 }]);
  });
});

describe('how many stream states are kept', () => {
  /** A store in which every stream holds one event: revision 0. */
  const oneEventEach = (): { store: EventStore; asked: Map<string, number[]> } => {
    const asked = new Map<string, number[]>();
    const readStream = async (id: string, slice: StreamSlice = {}): Promise<RecordedEvent[]> => {
      const from = slice.from ?? 0;
      asked.set(id, [...(asked.get(id) ?? []), from]);
      return from === 0 ? [recordedEvent(1, { type: 'ValueSet', data: { value: 1 } }, id)] : [];
    };
    const unusedNow = (): never => {
      throw new Error('not used here');
    };
    const unused = async (): Promise<never> => unusedNow();
    return {
      asked,
      store: {
        readStream,
        append: unused,
        readAll: unused,
        headPosition: unused,
        subscribeAll: unusedNow,
        close: unused,
      },
    };
  };

  it(`at most ${MAX_STREAMS}: the least recently used is dropped first`, async () => {
    const { store, asked } = oneEventEach();
    for (let i = 0; i < MAX_STREAMS; i++) await readFolded(store, register, `s-${i}`);
    await readFolded(store, register, 's-0'); // used again: now the most recent
    await readFolded(store, register, `s-${MAX_STREAMS}`); // one too many: s-1 goes
    await readFolded(store, register, 's-0');
    await readFolded(store, register, 's-1');
    expect(asked.get('s-0')).toEqual([0, 1, 1]);
    expect(asked.get('s-1')).toEqual([0, 0]);
  });
});
