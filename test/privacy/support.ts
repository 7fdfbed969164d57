/** What the privacy tests look for: a phone number in files and in API answers (test code only). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { accountingDay } from '../../projections/finance.ts';
import { postAs } from '../api/support.ts';
import { caughtUp, codeFromSms, orderInStatus } from '../flow/support.ts';
import type { TestLedger } from '../support/ledger-app.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';
import { waitUntil } from '../support/wait.ts';

export const PHONE = '13800138000';
export const OTHER_PHONE = '13900139000';

export type Placed = { orderId: string; paymentId: string };

export const eraseAs = (t: TestLedger, token: string | undefined, subscriberId: string) =>
  postAs(t, token, `/v1/subscribers/${encodeURIComponent(subscriberId)}/erasure`);

/** The numbers the order's history shows, event by event, to this role. */
export const numbersIn = async (t: TestLedger, orderId: string, token: string = TOKENS.admin): Promise<string[]> => {
  const r = await t.app.inject({ method: 'GET', url: `/v1/orders/${orderId}/history`, headers: bearer(token) });
  return r
    .json<{ events: { type: string; data: Record<string, unknown> }[] }>()
    .events.filter((e) => 'msisdn' in e.data)
    .map((e) => `${e.type}:${String(e.data.msisdn)}`);
};

export const search = async (t: TestLedger, query: string): Promise<Record<string, unknown>[]> =>
  (await t.app.inject({ method: 'GET', url: `/v1/orders?${query}`, headers: bearer(TOKENS.service) })).json<{ items: Record<string, unknown>[] }>().items;

/** An order paid and provisioned, confirmed with the code the phone receives by SMS. */
export const provisioned = async (t: TestLedger, key: string, body: Record<string, string>): Promise<Placed> => {
  const msisdn = `+86${body.msisdn ?? PHONE}`;
  const seen = (t.service.integrations.simulated.sms?.messages({ msisdn }) ?? []).filter((m) => /验证码/.test(m.text)).length;
  const placed = await t.placeOrder(body, key);
  expect(placed.statusCode, placed.body).toBe(201);
  const o = placed.json<Placed>();
  expect((await t.confirm(o.paymentId, await codeFromSms(t, msisdn, seen))).statusCode).toBe(200);
  await orderInStatus(t, o.orderId, 'provisioned');
  return o;
};

/** An order the subscriber declined on the phone: cancelled. */
export const declined = async (t: TestLedger, key: string, body: Record<string, string>): Promise<Placed> => {
  const o = (await t.placeOrder(body, key)).json<Placed>();
  expect((await postAs(t, TOKENS.phone, `/v1/payments/${o.paymentId}/decline`)).statusCode).toBe(200);
  await orderInStatus(t, o.orderId, 'cancelled');
  return o;
};

/** Waits until the outbound work is done: every read model caught up, and no task due or claimed now. */
export const settled = async (t: TestLedger): Promise<void> => {
  let busy: unknown[] = [];
  await waitUntil(
    async () => {
      await caughtUp(t);
      const r = await t.app.inject({ method: 'GET', url: '/v1/outbound?status=pending&limit=200', headers: bearer(TOKENS.service) });
      const now = t.clock.now.toISOString();
      busy = r
        .json<{ items: { nextAttemptAt: string | null; claimedBy: string | null }[] }>()
        .items.filter((i) => i.claimedBy !== null || (i.nextAttemptAt ?? '') <= now);
      return busy.length === 0;
    },
    () => `no outbound work due; still due: ${JSON.stringify(busy)}`,
    { intervalMs: 10 },
  );
};

/** Two orders of sub-1001 (PHONE; one provisioned, one declined) and one of sub-2002 (OTHER_PHONE), all settled. */
export const household = async (t: TestLedger): Promise<{ paid: Placed; cancelled: Placed; other: Placed }> => {
  const paid = await provisioned(t, 'era-paid', { subscriberId: 'sub-1001', smartcardId: '8100000000001001' });
  const cancelled = await declined(t, 'era-declined', { subscriberId: 'sub-1001', smartcardId: '8100000000001001', productId: 'opera-month' });
  const other = await provisioned(t, 'era-other', { subscriberId: 'sub-2002', smartcardId: '8100000000002002', msisdn: OTHER_PHONE });
  await settled(t);
  return { paid, cancelled, other };
};

/** Every file under `dir` (recursively) whose bytes contain one of the needles, with the needle found. */
export const filesHolding = (dir: string, needles: readonly string[]): string[] => {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const bytes = readFileSync(path);
        for (const n of needles) if (bytes.includes(n)) found.push(`${relative(dir, path)}: ${n}`);
      }
    }
  };
  walk(dir);
  return found;
};

/** The ways a number can be written: national, E.164 with and without '+', masked as the read models had it. */
export const spellings = (national: string): string[] => [national, `86${national}`, `+86${national}`];

export type Answer = { url: string; role: string; status: number; body: string };

/**
 * Every read an agent, an auditor, the open platform or the phone can make about these orders and
 * payments, their subscriber and their day: the answers, as sent.
 */
export const everyAnswer = async (
  t: TestLedger,
  about: { orders: readonly { orderId: string; paymentId: string }[]; subscriberId: string; smartcardId: string; msisdn: string },
): Promise<Answer[]> => {
  const day = accountingDay(t.clock.now.toISOString());
  const reads: [string, string][] = [];
  for (const { orderId, paymentId } of about.orders) {
    for (const role of ['service', 'admin'] as const) reads.push([role, `/v1/orders/${orderId}/history`]);
    reads.push(['service', `/v1/orders/${orderId}`], ['openPlatform', `/v1/orders/${orderId}`]);
    reads.push(['service', `/v1/payments/${paymentId}`], ['phone', `/v1/payments/${paymentId}`]);
    reads.push(['service', `/v1/outbound?orderId=${orderId}`]);
  }
  reads.push(
    ['service', `/v1/orders?subscriberId=${about.subscriberId}`],
    ['service', `/v1/orders?msisdn=${about.msisdn}`],
    ['service', `/v1/orders?smartcardId=${about.smartcardId}`],
    ['service', '/v1/orders?limit=200'],
    ['service', `/v1/smartcards/${about.smartcardId}/entitlements`],
    ['service', '/v1/provisioning?limit=200'],
    ['service', '/v1/outbound?limit=200'],
    ['admin', `/v1/finance/days?from=${day}&to=${day}`],
    ['admin', `/v1/finance/entries?day=${day}`],
    ['admin', `/v1/finance/journal?from=${day}&to=${day}&limit=1000`],
    ['admin', `/v1/finance/journal?from=${day}&to=${day}&format=csv`],
    ['admin', `/v1/finance/trial-balance?day=${day}`],
    ['service', '/console/api/session'],
  );
  const answers: Answer[] = [];
  for (const [role, url] of reads) {
    const r = await t.app.inject({ method: 'GET', url, headers: bearer(TOKENS[role as keyof typeof TOKENS]) });
    answers.push({ url, role, status: r.statusCode, body: r.body });
  }
  const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
  answers.push({ url: '/metrics', role: 'none', status: metrics.statusCode, body: metrics.body });
  return answers;
};

/** The answers that mention one of the needles. */
export const answersHolding = (answers: readonly Answer[], needles: readonly string[]): string[] =>
  answers.flatMap((a) => needles.filter((n) => a.body.includes(n)).map((n) => `${a.role} ${a.url}: ${n}`));
