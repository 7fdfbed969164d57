/** Helpers for in-process flow tests: drive the API, read the simulators, wait without sleeping. */
import { expect } from 'vitest';
import { waitUntil } from '../support/wait.ts';
import type { TestLedger } from '../support/ledger-app.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';

/**
 * Polls until the probe returns a value, yielding to the event loop between tries.
 * `tickSeconds` moves the test clock forward on every try, for work that is due later
 * (retries with backoff, timers).
 */
export const eventually = <T>(
  t: TestLedger,
  probe: () => Promise<T | undefined>,
  what: string,
  opts: { timeoutMs?: number; tickSeconds?: number } = {},
): Promise<T> =>
  waitUntil(probe, what, {
    timeoutMs: opts.timeoutMs ?? 10_000,
    intervalMs: 5,
    ...(opts.tickSeconds && { beforeRetry: () => t.clock.advance(opts.tickSeconds ?? 0) }),
  });

export type OrderView = Record<string, unknown> & { status: string; orderId: string; paymentId: string };

export const getOrder = async (t: TestLedger, orderId: string): Promise<OrderView | undefined> => {
  const r = await t.app.inject({ method: 'GET', url: `/v1/orders/${orderId}`, headers: bearer(TOKENS.service) });
  return r.statusCode === 200 ? r.json<OrderView>() : undefined;
};

export const orderInStatus = (t: TestLedger, orderId: string, status: string, opts: { tickSeconds?: number; timeoutMs?: number } = {}): Promise<OrderView> =>
  eventually(
    t,
    async () => {
      const o = await getOrder(t, orderId);
      return o?.status === status ? o : undefined;
    },
    `order ${orderId} to be ${status}`,
    opts,
  );

/** The in-process simulators of a test ledger (none when the partner is configured by URL). */
export const sms = (t: TestLedger) => {
  const s = t.service.integrations.simulated.sms;
  if (!s) throw new Error('expected the in-process SMS simulator');
  return s;
};
/** Waits until a message containing `text` reached the phone or the TV. */
export const smsArrives = (t: TestLedger, to: { msisdn: string } | { smartcardId: string }, text: string, what: string): Promise<true> =>
  eventually(
    t,
    async () =>
      sms(t)
        .messages(to)
        .some((m) => m.text.includes(text))
        ? true
        : undefined,
    what,
  );

export const platformSim = (t: TestLedger) => {
  const p = t.service.integrations.simulated.platform;
  if (!p) throw new Error('expected the in-process platform simulator');
  return p;
};
export const bossSim = (t: TestLedger) => {
  const b = t.service.integrations.simulated.boss;
  if (!b) throw new Error('expected the in-process BOSS simulator');
  return b;
};

const codeMessages = (t: TestLedger, msisdn: string) =>
  sms(t)
    .messages({ msisdn })
    .filter((m) => /验证码/.test(m.text));

/**
 * A one-time code sent to the number, read from the SMS simulator as the subscriber would:
 * the code message after the first `seen` ones (by default the first).
 */
export const codeFromSms = async (t: TestLedger, msisdn = '+8613800138000', seen = 0): Promise<string> => {
  const text = await eventually(t, async () => codeMessages(t, msisdn)[seen]?.text, 'the code SMS');
  const code = /验证码(\d{6})/.exec(text)?.[1];
  if (!code) throw new Error('no code in the SMS');
  return code;
};

export const placeAndConfirm = async (t: TestLedger, key: string, body: Record<string, string> = {}): Promise<{ orderId: string; paymentId: string }> => {
  const msisdn = `+86${body.msisdn ?? '13800138000'}`;
  const seen = codeMessages(t, msisdn).length;
  const placed = await t.placeOrder(body, key);
  expect(placed.statusCode).toBe(201);
  const o = placed.json<{ orderId: string; paymentId: string }>();
  const confirm = await t.confirm(o.paymentId, await codeFromSms(t, msisdn, seen));
  expect(confirm.statusCode).toBe(200);
  return o;
};

export const historyTypes = async (t: TestLedger, orderId: string): Promise<string[]> => {
  const r = await t.app.inject({ method: 'GET', url: `/v1/orders/${orderId}/history`, headers: bearer(TOKENS.admin) });
  return r.json<{ events: { type: string }[] }>().events.map((e) => e.type);
};

/** Waits until every projection has processed everything in the log so far. */
export const caughtUp = async (t: TestLedger): Promise<void> => {
  const head = await t.service.ledger.store.headPosition();
  // Within the test's own deadline, so a stuck projection is named rather than the test timing out.
  for (const p of t.service.projections.values()) await p.waitFor(head, 10_000);
};

/** The value of one exported series, named with its labels as /metrics prints them (NaN when absent). */
export const metricValue = async (t: TestLedger, series: string): Promise<number> => {
  const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.split(' ').at(-1) ?? 'NaN');
};
