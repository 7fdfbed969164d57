/**
 * The task decider: whether an attempt may be made now, and what an attempt's outcome means under the
 * task's policy (retry when, defer, give up). Pure: time, the worker's name, the jitter and the policy
 * come in with the command.
 */
import { DomainError } from '../domain/errors.ts';
import { assertNever } from '../domain/never.ts';
import { backoffMs, type Policy } from './policy.ts';
import type { Aggregate } from '../commands/aggregates.ts';
import {
  evolveTask,
  initialTask,
  nextTryAt,
  readTaskEvent,
  taskStream,
  type GiveUpReason,
  type Sent,
  type TaskEvent,
  type TaskSpec,
  type TaskState,
} from './task.ts';

/** What an attempt came to, as the action saw it. */
export type Outcome =
  /** Finished: the partner answered and the answer is recorded (or the work turned out moot). */
  | { kind: 'done'; detail: string }
  /** Nothing wrong, no answer yet (a trade still processing): look again later. */
  | { kind: 'later'; reason: string; afterMs?: number }
  /** The call failed: timeouts, 5xx, 409, 429, network errors, our own errors. Tried again per policy. */
  | { kind: 'retry'; error: string }
  /** A definitive refusal (BOSS 422, any other 4xx), its consequence already recorded: never tried again, unless the policy asks again. */
  | { kind: 'refused'; error: string };

export type ClaimAttempt = {
  type: 'ClaimAttempt';
  task: TaskSpec;
  worker: string;
  /** How long the claim holds: the call's timeout and a margin. */
  holdMs: number;
  /** What this attempt sends that a retry must send again; kept from an earlier attempt otherwise. */
  sent?: Sent;
  now: Date;
};

export type RecordOutcome = {
  type: 'RecordOutcome';
  task: TaskSpec;
  worker: string;
  /** The claimed attempt this is the outcome of; null when no call was made (the work was moot, or a timer). */
  attempt: number | null;
  outcome: Outcome;
  policy: Policy;
  /** In [0, 1): the backoff's jitter. */
  jitter: number;
  now: Date;
};

export type TaskCommand = ClaimAttempt | RecordOutcome;

/** The task cannot be claimed now, or an outcome can no longer be recorded by this worker. */
export class TaskNotClaimable extends DomainError {
  constructor(taskId: string, why: 'finished' | 'claimed' | 'not_due' | 'claim_lost') {
    super('conflict', 'task-not-claimable', `task ${taskId}: ${why.replace('_', ' ')}`, { taskId, why });
  }
}

const iso = (d: Date): string => d.toISOString();
const later = (now: Date, ms: number): string => iso(new Date(now.getTime() + ms));

export const decideTask = (cmd: TaskCommand, state: TaskState): TaskEvent[] => {
  switch (cmd.type) {
    case 'ClaimAttempt':
      return claim(cmd, state);
    case 'RecordOutcome':
      return record(cmd, state);
    default:
      return assertNever(cmd);
  }
};

const claim = (cmd: ClaimAttempt, state: TaskState): TaskEvent[] => {
  const id = cmd.task.id;
  if (state.status !== 'pending') throw new TaskNotClaimable(id, 'finished');
  const at = iso(cmd.now);
  if (state.claim && state.claim.until > at) throw new TaskNotClaimable(id, 'claimed');
  if (!state.claim && nextTryAt(cmd.task, state) > at) throw new TaskNotClaimable(id, 'not_due');
  const sent = state.sent ?? cmd.sent;
  return [
    {
      type: 'TaskAttemptClaimed',
      data: { taskId: id, kind: cmd.task.kind, attempt: state.attempts + 1, worker: cmd.worker, at, until: later(cmd.now, cmd.holdMs), ...(sent && { sent }) },
    },
  ];
};

const record = (cmd: RecordOutcome, state: TaskState): TaskEvent[] => {
  const id = cmd.task.id;
  if (state.status !== 'pending') throw new TaskNotClaimable(id, 'finished');
  const at = iso(cmd.now);
  if (cmd.attempt === null) {
    // No call was made: fine unless someone else holds a live claim (its outcome is theirs to record).
    if (state.claim && state.claim.until > at && state.claim.worker !== cmd.worker) throw new TaskNotClaimable(id, 'claimed');
  } else if (state.claim?.attempt !== cmd.attempt || state.claim.worker !== cmd.worker) {
    throw new TaskNotClaimable(id, 'claim_lost');
  }
  const attempt = cmd.attempt ?? state.attempts;
  const giveUp = (error: string, reason: GiveUpReason): TaskEvent[] => [{ type: 'TaskAbandoned', data: { taskId: id, attempt, error, reason } }];
  const pastDeadline = (when: string): boolean => cmd.policy.deadline !== null && when >= cmd.policy.deadline;
  const retry = (error: string): TaskEvent[] => {
    if (cmd.policy.maxAttempts !== null && attempt >= cmd.policy.maxAttempts) return giveUp(error, 'exhausted');
    if (pastDeadline(at)) return giveUp(error, 'deadline');
    const retryAt = later(cmd.now, backoffMs(cmd.policy, Math.max(1, attempt), cmd.jitter));
    return [{ type: 'TaskAttemptFailed', data: { taskId: id, attempt, error, retryAt: clampToDeadline(retryAt, cmd.policy) } }];
  };
  const o = cmd.outcome;
  switch (o.kind) {
    case 'done':
      return [{ type: 'TaskCompleted', data: { taskId: id, attempt, outcome: o.detail } }];
    case 'refused':
      return cmd.policy.onRefusal === 'ask-again' ? retry(`refused: ${o.error}`) : giveUp(o.error, 'refused');
    case 'later': {
      const dueAt = later(cmd.now, o.afterMs ?? cmd.policy.laterMs);
      if (pastDeadline(at)) return giveUp(`no answer by the deadline: ${o.reason}`, 'deadline');
      return [{ type: 'TaskDeferred', data: { taskId: id, attempt, reason: o.reason, dueAt: clampToDeadline(dueAt, cmd.policy) } }];
    }
    case 'retry':
      return retry(o.error);
    default:
      return assertNever(o);
  }
};

/** The last try happens at the deadline, not after it. */
const clampToDeadline = (when: string, policy: Policy): string => (policy.deadline !== null && when > policy.deadline ? policy.deadline : when);

/** The task decider, packaged for the command loop (commands/execute.ts), like Order and Payment. */
export const taskAggregate: Aggregate<TaskState, TaskCommand, TaskEvent> = {
  name: 'task',
  streamOf: (cmd) => taskStream(cmd.task.id),
  initialState: initialTask,
  evolve: evolveTask,
  decide: decideTask,
  read: readTaskEvent,
};
