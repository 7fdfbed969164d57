/**
 * Outbound work as a small aggregate: one task per thing that leaves the system (an SMS, a trade, a
 * query, a BOSS request, a refund, a callback) or a timer (expiry). Stream `task-<taskId>`.
 *
 * What a task is for comes from the event that created it (outbound/schedule.ts), the same in every
 * process: the stream holds only what happened to it.
 *
 *   pending ─claim─▶ pending (claimed) ─▶ done           TaskCompleted
 *      ▲                    │        └──▶ failed          TaskAbandoned (refused, exhausted, deadline)
 *      └── retry / defer ───┘                            TaskAttemptFailed, TaskDeferred
 *
 * Every call to a partner is claimed first (TaskAttemptClaimed, appended with the expected
 * revision), so of any number of workers sharing the event store exactly one makes each attempt.
 * A claim lapses at `until`; a task whose claim lapsed without an outcome may be claimed again.
 */
import { eventReader } from '../domain/event-reader.ts';
import { assertNever } from '../domain/never.ts';

export const TASK_KINDS = ['expire', 'trade', 'query', 'boss', 'refund', 'sms', 'callback'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** Which message an SMS task sends, and to whom. */
export const SMS_TEMPLATES = ['code', 'order-tv', 'paid-phone', 'paid-tv', 'provisioned-tv', 'refunded-phone', 'failed-phone'] as const;
export type SmsTemplate = (typeof SMS_TEMPLATES)[number];

/** What a task is for, derived from the event that created it. */
export type TaskSpec = {
  id: string;
  kind: TaskKind;
  orderId: string;
  paymentId: string;
  /** boss: the request number (0 first, then reprovisions); sms `code`: the code's sequence number. */
  seq: number;
  template?: SmsTemplate;
  /**
   * boss: the entitlement (card and package) the request is for. Requests of one group run one at a
   * time, oldest first, so a renewal starts where the one before it ends.
   */
  group?: string;
  /** When it is first due. Our clock: a partner's timestamp never schedules anything. */
  dueAt: string;
  /** After this, the task is not tried again (the code SMS: the order's payment deadline). */
  deadline?: string;
  createdAt: string;
  /** The creating event's correlation, and the event itself, for the commands the task causes. */
  correlationId: string;
  causationId: string;
};

export type GiveUpReason = 'refused' | 'exhausted' | 'deadline';

/** What an attempt sent that a retry must send again (BOSS validity dates). */
export type Sent = Record<string, string>;

export type TaskAttemptClaimed = {
  type: 'TaskAttemptClaimed';
  data: { taskId: string; kind: TaskKind; attempt: number; worker: string; at: string; until: string; sent?: Sent };
};
export type TaskAttemptFailed = {
  type: 'TaskAttemptFailed';
  /** `sent` only in events written before claims carried it. */
  data: { taskId: string; attempt: number; error: string; retryAt: string; sent?: Sent };
};
/** Nothing went wrong, but the answer is not there yet (a trade still processing): look again at dueAt. */
export type TaskDeferred = { type: 'TaskDeferred'; data: { taskId: string; attempt: number; reason: string; dueAt: string } };
export type TaskCompleted = { type: 'TaskCompleted'; data: { taskId: string; attempt: number; outcome: string } };
/** `reason` is absent in events written before it was added. */
export type TaskAbandoned = { type: 'TaskAbandoned'; data: { taskId: string; attempt: number; error: string; reason?: GiveUpReason } };

export type TaskEvent = TaskAttemptClaimed | TaskAttemptFailed | TaskDeferred | TaskCompleted | TaskAbandoned;

export type Claim = { attempt: number; worker: string; until: string };

export type TaskState =
  | {
      status: 'pending';
      /** Attempts made (claimed) so far. */
      attempts: number;
      /** Due again at (after a failure or a deferral); the spec's dueAt before that. */
      dueAt?: string;
      lastError?: string;
      sent?: Sent;
      claim?: Claim;
    }
  | { status: 'done'; attempts: number; outcome: string; lastError?: string }
  | { status: 'failed'; attempts: number; error: string; reason: GiveUpReason };

export type TaskStatus = TaskState['status'];

export const initialTask: TaskState = { status: 'pending', attempts: 0 };

export const taskStream = (taskId: string): string => `task-${taskId}`;

export const evolveTask = (state: TaskState, event: TaskEvent): TaskState => {
  if (state.status !== 'pending') return state;
  const { claim: _ended, ...rest } = state;
  switch (event.type) {
    case 'TaskAttemptClaimed': {
      const d = event.data;
      const sent = d.sent ?? state.sent;
      return { ...rest, attempts: Math.max(state.attempts, d.attempt), claim: { attempt: d.attempt, worker: d.worker, until: d.until }, ...(sent && { sent }) };
    }
    case 'TaskAttemptFailed': {
      const sent = event.data.sent ?? state.sent;
      return { ...rest, attempts: Math.max(state.attempts, event.data.attempt), dueAt: event.data.retryAt, lastError: event.data.error, ...(sent && { sent }) };
    }
    case 'TaskDeferred':
      return { ...rest, attempts: Math.max(state.attempts, event.data.attempt), dueAt: event.data.dueAt };
    case 'TaskCompleted':
      return {
        status: 'done',
        attempts: Math.max(state.attempts, event.data.attempt),
        outcome: event.data.outcome,
        ...(state.lastError !== undefined && { lastError: state.lastError }),
      };
    case 'TaskAbandoned':
      return { status: 'failed', attempts: Math.max(state.attempts, event.data.attempt), error: event.data.error, reason: event.data.reason ?? 'exhausted' };
    default:
      return assertNever(event);
  }
};

/** A stored event as a task event, or undefined for another type. */
export const readTaskEvent = eventReader<TaskEvent>({
  TaskAttemptClaimed: true,
  TaskAttemptFailed: true,
  TaskDeferred: true,
  TaskCompleted: true,
  TaskAbandoned: true,
});

export const foldTask = (events: readonly TaskEvent[]): TaskState => events.reduce(evolveTask, initialTask);

/** When a pending task may next be tried: at its due time, or when a claim on it lapses. */
export const nextTryAt = (spec: Pick<TaskSpec, 'dueAt'>, state: Extract<TaskState, { status: 'pending' }>): string =>
  state.claim ? state.claim.until : (state.dueAt ?? spec.dueAt);
