/**
 * The command loop: read the stream, fold it, decide, append with the expected
 * revision; on a concurrent write, do it all again (a bounded number of times). The fold starts
 * from the state this process last saw of the stream, when it has one, and reads only what came
 * after it (commands/stream-states.ts).
 *
 * Event ids are derived from the command's key, the stream and the expected revision:
 * resending the same command at the same revision resends the same ids, which the
 * store treats as a no-op, so two identical commands racing each other write once.
 * The key says what the command means (the payment, the notification, the order), never
 * a value the caller chose freely such as a request id: two different commands that derive
 * the same ids at the same revision carry different facts, which the store refuses as an
 * EventIdConflict, and the loser decides again on the new state (docs/event-identity.md).
 */
import { backoffDelay } from '../domain/backoff.ts';
import type { Actor, EventStore, NewEvent, Position } from '../stores/event-store.ts';
import { EventIdConflict, WrongExpectedRevision } from '../stores/event-store.ts';
import { ConcurrentModification } from '../domain/errors.ts';
import type { Aggregate, DomainEvent } from './aggregates.ts';
import { uuidFrom } from './ids.ts';
import { readFolded, remember } from './stream-states.ts';

export const SCHEMA_VERSION = 1;
export const MAX_ATTEMPTS = 8;
/** Between tries after a write conflict: a few milliseconds, jittered. */
const CONFLICT_BACKOFF = { baseMs: 4, maxDelayMs: 50 };

/** Who and what caused a command; flows into every event's metadata. */
export type CommandContext = {
  correlationId: string;
  causationId: string;
  actor: Actor;
  /** Identifies this command's content: the same key yields the same event ids. */
  commandKey: string;
};

export type CommandOutcome = 'accepted' | 'unchanged' | 'refused' | 'conflict' | 'error';

export type CommandDeps = {
  store: EventStore;
  now: () => Date;
  /** Called once per command with its outcome and duration (metrics). */
  observe?: (command: string, outcome: CommandOutcome, seconds: number) => void;
};

export type Executed<S, E> = {
  /** The state after the command. */
  state: S;
  /** What this command appended; [] when the decider found nothing to change. */
  events: E[];
  /** The same events as stored (ids, metadata), for follow-up commands. */
  appended: NewEvent[];
  position: Position | null;
};

export const execute = async <S, C extends { type: string }, E extends DomainEvent>(
  deps: CommandDeps,
  aggregate: Aggregate<S, C, E>,
  cmd: C,
  ctx: CommandContext,
): Promise<Executed<S, E>> => {
  const started = performance.now();
  const done = (outcome: CommandOutcome): void => deps.observe?.(cmd.type, outcome, (performance.now() - started) / 1000);
  const streamId = aggregate.streamOf(cmd);
  for (let attempt = 1; ; attempt++) {
    const { state, revision } = await readFolded(deps.store, aggregate, streamId);
    let events: E[];
    try {
      events = aggregate.decide(cmd, state);
    } catch (err) {
      done('refused');
      throw err;
    }
    if (events.length === 0) {
      done('unchanged');
      return { state, events, appended: [], position: null };
    }
    const expected = revision === -1 ? 'no_stream' : revision;
    const toAppend: NewEvent[] = events.map((e, i) => ({
      id: uuidFrom('event', ctx.commandKey, streamId, String(expected), String(i)),
      type: e.type,
      data: { ...e.data },
      metadata: {
        correlationId: ctx.correlationId,
        causationId: ctx.causationId,
        actor: ctx.actor,
        schemaVersion: SCHEMA_VERSION,
      },
    }));
    try {
      const result = await deps.store.append(streamId, toAppend, expected);
      const after = events.reduce(aggregate.evolve, state);
      // Our events follow `revision` exactly (the store checked it), so `after` is the state at nextRevision.
      if (result.nextRevision === revision + events.length) remember(deps.store, aggregate, streamId, { state: after, revision: result.nextRevision });
      done('accepted');
      return { state: after, events, appended: toAppend, position: result.position };
    } catch (err) {
      // Another writer got there first (a new revision, or the same derived ids with other facts): decide again.
      if (!(err instanceof WrongExpectedRevision || err instanceof EventIdConflict)) {
        done('error');
        throw err;
      }
      if (attempt >= MAX_ATTEMPTS) {
        done('conflict');
        throw new ConcurrentModification(streamId);
      }
      // Racing writers retry at slightly different moments (jittered backoff), so they do not collide again.
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(CONFLICT_BACKOFF, attempt, Math.random())));
    }
  }
};

/** Reads and folds a stream without deciding anything (queries, history). */
export const load = async <S, C, E extends DomainEvent>(store: EventStore, aggregate: Aggregate<S, C, E>, streamId: string): Promise<S> =>
  (await readFolded(store, aggregate, streamId)).state;
