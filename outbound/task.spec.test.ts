/**
 * The task decider: given what happened to a task, when a worker claims it or records an outcome,
 * then these events (or this refusal).
 */
import { describe, expect, it } from 'vitest';
import { spec } from '../test/support/given.ts';
import { decideTask, TaskNotClaimable, type Outcome, type TaskCommand } from './decide.ts';
import type { Policy } from './policy.ts';
import { evolveTask, foldTask, initialTask, type TaskEvent, type TaskSpec } from './task.ts';

const task = spec({ decide: decideTask, evolve: evolveTask, initialState: initialTask });

const T0 = new Date('2026-11-25T08:00:00.000Z');
const at = (s: number): Date => new Date(T0.getTime() + s * 1000);
const iso = (s: number): string => at(s).toISOString();
const taskId = 'boss:ord-1:0';
const bossTask: TaskSpec = {
  id: taskId,
  kind: 'boss',
  orderId: 'ord-1',
  paymentId: 'pay-1',
  seq: 0,
  group: 'card:pkg',
  dueAt: iso(0),
  createdAt: iso(0),
  correlationId: 'c',
  causationId: 'e',
};
const policy: Policy = { baseMs: 1000, maxDelayMs: 60_000, maxAttempts: 3, deadline: null, laterMs: 120_000, onRefusal: 'give-up' };

const claimCmd = (s: number, worker = 'w1', sent?: Record<string, string>): TaskCommand => ({
  type: 'ClaimAttempt',
  task: bossTask,
  worker,
  holdMs: 7000,
  ...(sent && { sent }),
  now: at(s),
});
const outcomeCmd = (s: number, outcome: Outcome, attempt: number | null = 1, worker = 'w1', p: Policy = policy): TaskCommand => ({
  type: 'RecordOutcome',
  task: bossTask,
  worker,
  attempt,
  outcome,
  policy: p,
  jitter: 0.5,
  now: at(s),
});
const claimed = (attempt: number, s: number, worker = 'w1', sent?: Record<string, string>): TaskEvent => ({
  type: 'TaskAttemptClaimed',
  data: { taskId, kind: 'boss', attempt, worker, at: iso(s), until: iso(s + 7), ...(sent && { sent }) },
});
const failed = (attempt: number, _s: number, retryAt: string, error = 'boss: HTTP 503'): TaskEvent => ({
  type: 'TaskAttemptFailed',
  data: { taskId, attempt, error, retryAt },
});
const completed = (attempt: number, outcome = 'bossRef b-1'): TaskEvent => ({ type: 'TaskCompleted', data: { taskId, attempt, outcome } });

describe('ClaimAttempt', () => {
  it('a due task → TaskAttemptClaimed, attempt 1, held until now + holdMs', () => {
    task.given().when(claimCmd(0)).then(claimed(1, 0));
  });

  it('what the first attempt sends is recorded with its claim and kept by every later claim', () => {
    const dates = { validFrom: iso(0), validUntil: iso(86_400) };
    task
      .given()
      .when(claimCmd(0, 'w1', dates))
      .then(claimed(1, 0, 'w1', dates));
    task
      .given(claimed(1, 0, 'w1', dates), failed(1, 5, iso(6)))
      .when(claimCmd(6, 'w1', { validFrom: iso(6), validUntil: iso(86_406) }))
      .then(claimed(2, 6, 'w1', dates));
  });

  it('a claim still held by another worker → TaskNotClaimable(claimed): one process per attempt', () => {
    task
      .given(claimed(1, 0, 'w1'))
      .when(claimCmd(6, 'w2'))
      .thenThrows(TaskNotClaimable, { why: 'claimed' });
  });

  it('a lapsed claim (its worker died or stalled mid-call) may be taken over: the next attempt', () => {
    task
      .given(claimed(1, 0, 'w1'))
      .when(claimCmd(7, 'w2'))
      .then(claimed(2, 7, 'w2'));
  });

  it('before its retry time → TaskNotClaimable(not_due)', () => {
    task
      .given(claimed(1, 0), failed(1, 2, iso(10)))
      .when(claimCmd(9))
      .thenThrows(TaskNotClaimable, { why: 'not_due' });
    task
      .given(claimed(1, 0), failed(1, 2, iso(10)))
      .when(claimCmd(10))
      .then(claimed(2, 10));
  });

  it('a task not due yet (its spec) → TaskNotClaimable(not_due)', () => {
    task
      .given()
      .when({ ...claimCmd(0), task: { ...bossTask, dueAt: iso(1) } } as TaskCommand)
      .thenThrows(TaskNotClaimable, { why: 'not_due' });
  });

  it.each([
    ['done', [claimed(1, 0), completed(1)]],
    ['failed', [claimed(1, 0), { type: 'TaskAbandoned', data: { taskId, attempt: 1, error: 'x', reason: 'refused' } } as TaskEvent]],
  ])('a %s task → TaskNotClaimable(finished)', (_s, history) => {
    task
      .given(...history)
      .when(claimCmd(100))
      .thenThrows(TaskNotClaimable, { why: 'finished' });
  });
});

describe('RecordOutcome', () => {
  it('done → TaskCompleted', () => {
    task
      .given(claimed(1, 0))
      .when(outcomeCmd(1, { kind: 'done', detail: 'bossRef b-1' }))
      .then(completed(1));
  });

  it('the outcome of an attempt this worker no longer holds → TaskNotClaimable(claim_lost)', () => {
    task
      .given(claimed(1, 0, 'w1'), claimed(2, 8, 'w2'))
      .when(outcomeCmd(9, { kind: 'done', detail: 'x' }, 1, 'w1'))
      .thenThrows(TaskNotClaimable, { why: 'claim_lost' });
  });

  it('a late outcome of its own lapsed claim, nobody having taken over, still counts', () => {
    task
      .given(claimed(1, 0, 'w1'))
      .when(outcomeCmd(30, { kind: 'done', detail: 'bossRef b-1' }))
      .then(completed(1));
  });

  it('no call made (moot) → TaskCompleted without an attempt', () => {
    task
      .given()
      .when(outcomeCmd(0, { kind: 'done', detail: 'order cancelled' }, null))
      .then(completed(0, 'order cancelled'));
  });

  it('no call made while another worker holds a live claim → TaskNotClaimable(claimed)', () => {
    task
      .given(claimed(1, 0, 'w2'))
      .when(outcomeCmd(1, { kind: 'done', detail: 'x' }, null, 'w1'))
      .thenThrows(TaskNotClaimable, { why: 'claimed' });
  });

  it('retry → TaskAttemptFailed, due again after a jittered backoff that doubles per attempt', () => {
    task
      .given(claimed(1, 0))
      .when(outcomeCmd(1, { kind: 'retry', error: 'boss: HTTP 503' }))
      .then(failed(1, 1, iso(1.5)));
    task
      .given(claimed(1, 0), failed(1, 1, iso(2)), claimed(2, 2))
      .when(outcomeCmd(3, { kind: 'retry', error: 'boss: HTTP 503' }, 2))
      .then(failed(2, 3, iso(4)));
  });

  it('retry at maxAttempts → TaskAbandoned(exhausted)', () => {
    task
      .given(claimed(1, 0), failed(1, 1, iso(2)), claimed(2, 2), failed(2, 3, iso(4)), claimed(3, 4))
      .when(outcomeCmd(5, { kind: 'retry', error: 'boss: HTTP 503' }, 3))
      .then({ type: 'TaskAbandoned', data: { taskId, attempt: 3, error: 'boss: HTTP 503', reason: 'exhausted' } });
  });

  it('no limit on attempts: retried for ever until a deadline; the last try is at the deadline, not after it', () => {
    const untilDeadline: Policy = { ...policy, maxAttempts: null, deadline: iso(100) };
    task
      .given(claimed(1, 0))
      .when(outcomeCmd(99.9, { kind: 'retry', error: 'timeout' }, 1, 'w1', untilDeadline))
      .then(failed(1, 99.9, iso(100), 'timeout'));
    task
      .given(claimed(1, 0))
      .when(outcomeCmd(100, { kind: 'retry', error: 'timeout' }, 1, 'w1', untilDeadline))
      .then({ type: 'TaskAbandoned', data: { taskId, attempt: 1, error: 'timeout', reason: 'deadline' } });
  });

  it('later → TaskDeferred: not a failure, due again after laterMs (or the action’s own wait)', () => {
    task
      .given(claimed(1, 0))
      .when(outcomeCmd(1, { kind: 'later', reason: 'trade still processing' }))
      .then({
        type: 'TaskDeferred',
        data: { taskId, attempt: 1, reason: 'trade still processing', dueAt: iso(121) },
      });
    task
      .given(claimed(1, 0))
      .when(outcomeCmd(1, { kind: 'later', reason: 'r', afterMs: 5000 }))
      .then({ type: 'TaskDeferred', data: { taskId, attempt: 1, reason: 'r', dueAt: iso(6) } });
  });

  it('later past the deadline → TaskAbandoned(deadline): an unknown outcome is asked about until then, never guessed', () => {
    task
      .given(claimed(1, 0))
      .when(outcomeCmd(101, { kind: 'later', reason: 'trade still processing' }, 1, 'w1', { ...policy, deadline: iso(100) }))
      .then({ type: 'TaskAbandoned', data: { taskId, attempt: 1, error: 'no answer by the deadline: trade still processing', reason: 'deadline' } });
  });

  it('later never counts against maxAttempts', () => {
    task
      .given(claimed(1, 0), failed(1, 1, iso(2)), claimed(2, 2), failed(2, 3, iso(4)), claimed(3, 4))
      .when(outcomeCmd(5, { kind: 'later', reason: 'processing' }, 3))
      .then({ type: 'TaskDeferred', data: { taskId, attempt: 3, reason: 'processing', dueAt: iso(125) } });
  });

  it('refused, where a refusal ends the task → TaskAbandoned(refused) at once, whatever the attempts left', () => {
    task
      .given(claimed(1, 0))
      .when(outcomeCmd(1, { kind: 'refused', error: 'boss: HTTP 422' }, 1, 'w1', { ...policy, maxAttempts: null }))
      .then({ type: 'TaskAbandoned', data: { taskId, attempt: 1, error: 'boss: HTTP 422', reason: 'refused' } });
  });

  it('refused, where a refusal says nothing of the money (ask-again) → TaskAttemptFailed with a backoff, until the deadline; then TaskAbandoned(deadline)', () => {
    const money: Policy = { ...policy, maxAttempts: null, deadline: iso(100), onRefusal: 'ask-again' };
    const refused = { kind: 'refused', error: 'payment-platform GET /trades/{outTradeNo}: HTTP 403' } as const;
    task
      .given(claimed(1, 0), failed(1, 1, iso(2)), claimed(2, 2))
      .when(outcomeCmd(3, refused, 2, 'w1', money))
      .then(failed(2, 3, iso(4), `refused: ${refused.error}`));
    task
      .given(claimed(1, 0))
      .when(outcomeCmd(100, refused, 1, 'w1', money))
      .then({ type: 'TaskAbandoned', data: { taskId, attempt: 1, error: `refused: ${refused.error}`, reason: 'deadline' } });
  });

  it('on a finished task → TaskNotClaimable(finished)', () => {
    task
      .given(claimed(1, 0), completed(1))
      .when(outcomeCmd(2, { kind: 'done', detail: 'x' }))
      .thenThrows(TaskNotClaimable, { why: 'finished' });
  });
});

describe('evolve', () => {
  it('reads task streams written before claims existed: attempts, retry time and the dates sent', () => {
    const legacy: TaskEvent[] = [
      { type: 'TaskAttemptFailed', data: { taskId, attempt: 1, error: 'HTTP 503', retryAt: iso(2), sent: { validFrom: iso(0), validUntil: iso(9) } } },
      { type: 'TaskAttemptFailed', data: { taskId, attempt: 2, error: 'HTTP 503', retryAt: iso(6) } },
    ];
    expect(foldTask(legacy)).toEqual({ status: 'pending', attempts: 2, dueAt: iso(6), lastError: 'HTTP 503', sent: { validFrom: iso(0), validUntil: iso(9) } });
    expect(foldTask([...legacy, { type: 'TaskAbandoned', data: { taskId, attempt: 3, error: 'HTTP 503' } }])).toEqual({
      status: 'failed',
      attempts: 3,
      error: 'HTTP 503',
      reason: 'exhausted',
    });
  });

  it('an outcome ends the claim; a finished task ignores anything after it', () => {
    const s = foldTask([claimed(1, 0), completed(1), claimed(2, 50)]);
    expect(s).toEqual({ status: 'done', attempts: 1, outcome: 'bossRef b-1' });
  });
});
