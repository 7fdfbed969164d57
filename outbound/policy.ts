/**
 * How hard each kind of task tries, in one table. Pure: the worker resolves a task's policy from
 * its spec and the configuration, and the task decider applies it.
 *
 * Why each rule:
 * - the code SMS is retried until the order can no longer be paid: without it the subscriber cannot pay;
 * - trades, queries and refunds move money: an unknown outcome is asked about again and again until a
 *   deadline, never guessed; after it a person must look (the task is counted as given up). A refusal
 *   (a 4xx) says nothing of the money either, so it is asked again too, never taken as final;
 * - BOSS, the other messages and callbacks give up after RETRY_MAX_ATTEMPTS, visibly: customer service
 *   can reprovision, and the open platform can poll;
 * - expiry is our own timer: it never gives up.
 */
import { backoffDelay } from '../domain/backoff.ts';
import { assertNever } from '../domain/never.ts';
import type { TaskSpec } from './task.ts';

export type Policy = {
  /** First backoff ceiling; doubles per attempt up to maxDelayMs (full jitter). */
  baseMs: number;
  maxDelayMs: number;
  /** Attempts after which a retryable failure gives up; null: no limit. */
  maxAttempts: number | null;
  /** After this instant a retryable failure or a deferral gives up; null: none. */
  deadline: string | null;
  /** How long a deferral waits by default ("still processing, look again"). */
  laterMs: number;
  /** What a refusal (any 4xx but 409/429) means: the end of the task, or no answer yet. */
  onRefusal: 'give-up' | 'ask-again';
};

export type PolicyConfig = {
  retryBaseMs: number;
  retryMaxAttempts: number;
  paymentQueryAfterSeconds: number;
  /** How long an unknown payment outcome is asked about before a person must look. */
  paymentQueryDeadlineSeconds: number;
};

/** A partner that recovers is found again within this, whatever the attempt count. */
const MAX_DELAY_MS = 60_000;
/** The code is time-critical: a recovered gateway gets it within seconds. */
const CODE_MAX_DELAY_MS = 15_000;

const after = (iso: string, seconds: number): string => new Date(Date.parse(iso) + seconds * 1000).toISOString();

/** A task's deadline counts from when it is first due: our clock as its creating event recorded it (never the store's). */
export const policyFor = (task: Pick<TaskSpec, 'kind' | 'template' | 'dueAt' | 'deadline'>, c: PolicyConfig): Policy => {
  const base = { baseMs: c.retryBaseMs, maxDelayMs: MAX_DELAY_MS, laterMs: c.paymentQueryAfterSeconds * 1000, onRefusal: 'give-up' as const };
  const untilAnswered = {
    ...base,
    maxAttempts: null,
    deadline: task.deadline ?? after(task.dueAt, c.paymentQueryDeadlineSeconds),
    onRefusal: 'ask-again' as const,
  };
  switch (task.kind) {
    case 'sms':
      return task.template === 'code'
        ? { ...base, maxDelayMs: Math.max(c.retryBaseMs, CODE_MAX_DELAY_MS), maxAttempts: null, deadline: task.deadline ?? null }
        : { ...base, maxAttempts: c.retryMaxAttempts, deadline: null };
    case 'trade':
    case 'query':
    case 'refund':
      return untilAnswered;
    case 'boss':
    case 'callback':
      return { ...base, maxAttempts: c.retryMaxAttempts, deadline: null };
    case 'expire':
      return { ...base, maxAttempts: null, deadline: null };
    default:
      return assertNever(task.kind);
  }
};

/** The wait before the next attempt: the one backoff rule (domain/backoff.ts), `jitter` in [0, 1). */
export const backoffMs = (policy: Pick<Policy, 'baseMs' | 'maxDelayMs'>, attempt: number, jitter: number): number => backoffDelay(policy, attempt, jitter);
