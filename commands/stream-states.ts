/**
 * The folded state of recently used streams, so that a command or a load reads only the events
 * appended since, instead of the whole stream each time.
 *
 * Invariants:
 * - an entry is the fold of exactly the stream's events 0..revision, as read from the store or as
 *   this process appended them at that expected revision;
 * - an entry is a starting point, never an answer: every use still asks the store for the events
 *   after it, in the same read that would otherwise have read the whole stream. Whatever another
 *   writer or process appended is folded in, so a decision is never made on a state older than a
 *   whole read would have given;
 * - entries only move forward: an older revision never replaces a newer one;
 * - states are deep-frozen: the same object is handed to every later command on the stream, so a
 *   caller that changed it would change it for all of them;
 * - one cache per event store object, dropped with it; at most MAX_STREAMS entries, the least
 *   recently used dropped first.
 */
import { deepFreeze } from '../stores/frozen.ts';
import type { EventStore, RecordedEvent } from '../stores/event-store.ts';
import type { Aggregate, DomainEvent } from './aggregates.ts';

/** A few seconds of streams at full load (about a dozen streams an order). */
export const MAX_STREAMS = 4096;

type Entry = { aggregate: string; revision: number; state: unknown };

/** A stream's state and the revision of its last event (-1: the stream does not exist yet). */
export type Folded<S> = { state: S; revision: number };

const caches = new WeakMap<EventStore, Map<string, Entry>>();

const cacheOf = (store: EventStore): Map<string, Entry> => {
  const cache = caches.get(store) ?? new Map<string, Entry>();
  caches.set(store, cache);
  return cache;
};

const fold = <S, C, E extends DomainEvent>(aggregate: Aggregate<S, C, E>, start: S, recorded: readonly RecordedEvent[]): S => {
  let state = start;
  for (const r of recorded) {
    const e = aggregate.read(r);
    if (e) state = aggregate.evolve(state, e);
  }
  return state;
};

/** Keeps `state` as the stream's state at `revision`, unless a newer one is kept already. */
export const remember = <S, C, E extends DomainEvent>(store: EventStore, aggregate: Aggregate<S, C, E>, streamId: string, folded: Folded<S>): void => {
  const cache = cacheOf(store);
  const held = cache.get(streamId);
  if (held && held.aggregate === aggregate.name && held.revision > folded.revision) return;
  cache.delete(streamId); // re-inserted last: the most recently used
  cache.set(streamId, { aggregate: aggregate.name, revision: folded.revision, state: deepFreeze(folded.state) });
  if (cache.size > MAX_STREAMS) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
};

/** The stream's current state: the kept state, if any, with the events appended since folded in. */
export const readFolded = async <S, C, E extends DomainEvent>(store: EventStore, aggregate: Aggregate<S, C, E>, streamId: string): Promise<Folded<S>> => {
  const held = cacheOf(store).get(streamId);
  // Kept by this aggregate's name: the state is of its type S.
  const start =
    held && held.aggregate === aggregate.name ? { state: held.state as S, revision: held.revision } : { state: aggregate.initialState, revision: -1 };
  const recorded = await store.readStream(streamId, { from: start.revision + 1 });
  const folded = { state: fold(aggregate, start.state, recorded), revision: recorded.at(-1)?.revision ?? start.revision };
  remember(store, aggregate, streamId, folded);
  return folded;
};
