/** Small assertions shared by the API tests (test code only). */
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { PROBLEM_BASE, type Problem } from '../../http/problem.ts';
import { execute } from '../../commands/execute.ts';
import { TASK_ACTOR } from '../../outbound/action.ts';
import { taskAggregate } from '../../outbound/decide.ts';
import type { TaskSpec } from '../../outbound/task.ts';
import type { RecordedEvent } from '../../stores/event-store.ts';
import type { TestLedger } from '../support/ledger-app.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';

export type ProblemBody = Problem;

/** Asserts an RFC 9457 problem with this status (and type suffix, when given); returns its body. */
export const expectProblem = (res: LightMyRequestResponse, status: number, typeSuffix?: string): ProblemBody => {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json<ProblemBody>();
  expect(body.status).toBe(status);
  expect(body.type).toMatch(new RegExp(`^${PROBLEM_BASE}`));
  if (typeSuffix !== undefined) expect(body.type.endsWith(typeSuffix), `type ${body.type} ends with ${typeSuffix}`).toBe(true);
  expect(typeof body.title).toBe('string');
  expect(body.title.length).toBeGreaterThan(0);
  expect(typeof body.detail).toBe('string');
  expect(body.detail.length).toBeGreaterThan(0);
  return body;
};

/** A 400 whose `errors[]` names `path` among the invalid fields. */
export const expectValidation = (res: LightMyRequestResponse, path: string): ProblemBody => {
  const body = expectProblem(res, 400, 'validation');
  expect(body.errors?.map((e) => e.path)).toContain(path);
  return body;
};

/** Runs `act` and asserts that it wrote nothing to the event store. */
export const writesNothing = async <T>(t: TestLedger, act: () => Promise<T>): Promise<T> => {
  const before = await t.allEvents();
  const result = await act();
  expect(idsOf(await t.allEvents())).toEqual(idsOf(before));
  return result;
};

/** Runs `act` and returns the events it wrote, in global order. */
export const newEvents = async (t: TestLedger, act: () => Promise<unknown>): Promise<RecordedEvent[]> => {
  const before = await t.allEvents();
  await act();
  return (await t.allEvents()).slice(before.length);
};

export const idsOf = (events: readonly RecordedEvent[]): string[] => events.map((e) => e.id);
export const typesOf = (events: readonly RecordedEvent[]): string[] => events.map((e) => e.type);
export const countOf = (events: readonly RecordedEvent[], type: string): number => events.filter((e) => e.type === type).length;

export type Placed = { orderId: string; paymentId: string; expiresAt: string };

/** Places an order (201) and returns its ids. */
export const placed = async (t: TestLedger, key = 'key-1'): Promise<Placed> => {
  const res = await t.placeOrder({}, key);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<Placed>();
};

/** Places an order and confirms its payment with the right code. */
export const confirmed = async (t: TestLedger, key = 'key-1'): Promise<Placed> => {
  const p = await placed(t, key);
  const res = await t.confirm(p.paymentId, t.codeFor(p.paymentId));
  expect(res.statusCode, res.body).toBe(200);
  return p;
};

export const postAs = (t: TestLedger, token: string | undefined, url: string, payload?: Record<string, unknown>): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url, headers: token === undefined ? {} : bearer(token), ...(payload !== undefined && { payload }) });

export const getAs = (t: TestLedger, token: string | undefined, url: string): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'GET', url, headers: token === undefined ? {} : bearer(token) });

/**
 * Records that the SMS gateway took the payment's code `seq`, as the outbound worker does after it
 * sent it (a claimed attempt, then done 'sent'), for tests that run the API without the worker.
 */
export const codeWasDelivered = async (t: TestLedger, paymentId: string, seq = 1): Promise<void> => {
  const task: TaskSpec = {
    id: `sms:${paymentId}:code:${seq}`,
    kind: 'sms',
    orderId: '',
    paymentId,
    seq,
    template: 'code',
    dueAt: t.clock.now.toISOString(),
    createdAt: t.clock.now.toISOString(),
    correlationId: 'test',
    causationId: 'test',
  };
  const ctx = (step: string) => ({ correlationId: 'test', causationId: 'test', actor: TASK_ACTOR, commandKey: `${step}:${task.id}` });
  const ledger = t.service.ledger;
  await execute(ledger, taskAggregate, { type: 'ClaimAttempt', task, worker: 'test', holdMs: 5_000, now: ledger.now() }, ctx('claim'));
  const policy = { baseMs: 1000, maxDelayMs: 1000, maxAttempts: null, deadline: null, laterMs: 1000, onRefusal: 'give-up' as const };
  await execute(
    ledger,
    taskAggregate,
    { type: 'RecordOutcome', task, worker: 'test', attempt: 1, outcome: { kind: 'done', detail: 'sent' }, policy, jitter: 0, now: ledger.now() },
    ctx('outcome'),
  );
};

export const UNKNOWN_ID = '0b7e1c4a-5f3d-4e2a-9c1b-7d6e5f4a3b2c';
export const { openPlatform, phone, service, admin } = TOKENS;
