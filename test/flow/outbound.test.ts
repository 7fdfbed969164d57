/**
 * The outbound engine under hung, lying and dead partners, in one process with the in-process
 * simulators and a test clock (real time only where a call must time out). Each scenario is a row of
 * the fault-injection findings that the engine was rebuilt for; each waits on conditions, never sleeps.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { auditLog } from '../../scripts/audit/audit-log.ts';
import { accountingDay } from '../../projections/finance.ts';
import { OUTBOUND_TASKS, dueQuery } from '../../outbound/queue.ts';
import { expectProblem, newEvents, typesOf } from '../api/support.ts';
import { startReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { notifyAbout, settledTrade } from '../support/platform-notifications.ts';
import { bearer, orderBody, TOKENS } from '../support/fixtures.ts';
import { caughtUp, codeFromSms, eventually, getOrder, historyTypes, orderInStatus, placeAndConfirm, platformSim, bossSim, sms, smsArrives } from './support.ts';

let t: TestLedger;
let receiver: CallbackReceiver | undefined;
afterEach(async () => {
  await t.close();
  await receiver?.close();
  receiver = undefined;
});

const platform = () => platformSim(t);
const boss = () => bossSim(t);
const get = (url: string, token: string = TOKENS.service) => t.app.inject({ method: 'GET', url, headers: bearer(token) });
const post = (url: string, token: string, payload?: Record<string, unknown>) =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), ...(payload && { payload }) });

type TaskView = { taskId: string; kind: string; status: string; attempts: number; lastError: string | null; giveUpReason: string | null; template?: string };
const outbound = async (query: string): Promise<TaskView[]> => (await get(`/v1/outbound?${query}`)).json<{ items: TaskView[] }>().items;

const payment = async (orderId: string): Promise<Record<string, unknown>> => ((await getOrder(t, orderId))?.payment ?? {}) as Record<string, unknown>;

const metric = async (name: string): Promise<number> => {
  const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
};

const noViolations = async () => {
  await caughtUp(t);
  const report = await auditLog(t.service.ledger.store);
  expect(report.findings).toEqual([]);
  return report;
};

describe('money is never stranded', () => {
  it('POST /trades times out on every attempt while the platform takes the money: it is asked (GET /trades), never guessed failed — paid and provisioned', async () => {
    t = await startTestLedger({ PAYMENT_PLATFORM_TIMEOUT_MS: '200', RETRY_MAX_ATTEMPTS: '4', RETRY_BASE_MS: '1000' }, { process: true });
    // The platform creates and settles the trade at once but never answers the call, and its notification is lost.
    platform().setFaults({ slowOperations: ['POST /trades'], slowMs: 60_000, dropNotifications: true });
    const o = await placeAndConfirm(t, 'hung-trades');
    const provisioned = await orderInStatus(t, o.orderId, 'provisioned', { tickSeconds: 1 });
    expect(provisioned.status).toBe('provisioned');
    expect(platform().trades()).toHaveLength(1);
    const types = await historyTypes(t, o.orderId);
    expect(types).not.toContain('PaymentFailed');
    expect(types.filter((x) => x === 'PaymentSucceeded')).toHaveLength(1);
    const [trade] = await outbound(`orderId=${o.orderId}&kind=trade`);
    expect(trade).toMatchObject({ status: 'done', lastError: expect.stringMatching(/timed out/) });
    expect(trade?.attempts).toBeGreaterThanOrEqual(2);
    await noViolations();
  });

  it('a platform that answers 503 to everything: the payment stays pending and is asked about again and again, then goes through when the platform recovers', async () => {
    // A week to pay, so the test clock never reaches the payment deadline; a quick breaker, so recovery is seen at once.
    t = await startTestLedger(
      { RETRY_MAX_ATTEMPTS: '3', RETRY_BASE_MS: '1000', ORDER_TTL_SECONDS: '604800', OUTBOUND_BREAKER_COOLDOWN_MS: '50' },
      { process: true },
    );
    platform().setFaults({ failOperations: ['POST /trades', 'GET /trades/{outTradeNo}'] });
    const o = await placeAndConfirm(t, 'platform-down');
    const retried = await eventually(
      t,
      async () => (await outbound(`orderId=${o.orderId}&kind=trade`)).find((x) => x.attempts >= 5),
      'five attempts at the trade',
      { tickSeconds: 1, timeoutMs: 30_000 },
    );
    // More attempts than RETRY_MAX_ATTEMPTS, and still not given up: an unknown outcome is never closed by a count.
    expect(retried.status).toBe('pending');
    expect((await getOrder(t, o.orderId))?.status).toBe('payment_pending');
    platform().setFaults({ failOperations: [] });
    await orderInStatus(t, o.orderId, 'provisioned', { tickSeconds: 1 });
    await noViolations();
  });

  it('a trade the platform never created: asked about until the payment deadline and a grace period, then the payment fails (trade_not_created)', async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '1000', PAYMENT_QUERY_AFTER_SECONDS: '120' }, { process: true });
    platform().setFaults({ failOperations: ['POST /trades'] });
    const o = await placeAndConfirm(t, 'never-created');
    await eventually(t, async () => (await outbound(`orderId=${o.orderId}&kind=trade`)).find((x) => x.attempts >= 2), 'a second attempt', { tickSeconds: 2 });
    t.clock.advance(900); // the order's payment deadline
    expect((await getOrder(t, o.orderId))?.status).toBe('payment_pending');
    const failed = await orderInStatus(t, o.orderId, 'payment_failed', { tickSeconds: 10 });
    expect(failed.failureReason).toBe('trade_not_created');
    expect(platform().trades()).toHaveLength(0);
    await smsArrives(t, { msisdn: '+8613800138000' }, '支付未成功', 'the failure SMS');
  });

  it('SUCCESS after FAILED (a notification storm): the money goes back on its own, with an SMS and a callback', async () => {
    receiver = await startReceiver();
    t = await startTestLedger(
      { RETRY_BASE_MS: '1000', OPEN_PLATFORM_CALLBACK_URL: receiver.url, OPEN_PLATFORM_CALLBACK_SECRET: 'test-callback-secret-0123456789' },
      { process: true },
    );
    platform().setFaults({ dropNotifications: true });
    const o = await placeAndConfirm(t, 'storm');
    const trade = await settledTrade(t, o.paymentId);
    expect((await notifyAbout(t, trade, { notificationId: 'storm-failed', status: 'FAILED', failureReason: 'RISK_CONTROL' })).statusCode).toBe(200);
    expect((await notifyAbout(t, trade, { notificationId: 'storm-success', status: 'SUCCESS', paidAt: t.clock.now.toISOString() })).statusCode).toBe(200);
    await orderInStatus(t, o.orderId, 'refunded', { tickSeconds: 1 });
    expect(platform().refunds()).toEqual([expect.objectContaining({ outTradeNo: o.paymentId, amount: { value: 3800, currency: 'CNY' } })]);
    expect(await historyTypes(t, o.orderId)).toEqual(
      expect.arrayContaining(['PaymentFailed', 'OrderPaymentFailed', 'PaymentFlagged', 'PaymentRefundRequested', 'PaymentRefunded', 'OrderRefunded']),
    );
    await smsArrives(t, { msisdn: '+8613800138000' }, '退款', 'the refund SMS');
    await eventually(t, async () => receiver?.delivered().find((r) => r.body.orderId === o.orderId && r.body.status === 'refunded'), 'the refunded callback', {
      tickSeconds: 1,
    });
    const report = await noViolations();
    expect(report.stranded).toEqual([]);
  });

  it('an amount mismatch waits for an admin: refund (with a reason, recorded with who) sends the money back; the audit names it stranded until then', async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '1000' }, { process: true });
    platform().setFaults({ amountMismatchFen: -100 });
    const o = await placeAndConfirm(t, 'mismatch-refund');
    await eventually(t, async () => ((await payment(o.orderId)).status === 'flagged' ? true : undefined), 'the payment to be flagged');
    expect((await getOrder(t, o.orderId))?.status).toBe('payment_pending');
    await caughtUp(t);
    const later = new Date(t.clock.now.getTime() + 25 * 3600_000);
    const overdue = await auditLog(t.service.ledger.store, { now: later });
    expect(overdue.stranded).toEqual([expect.objectContaining({ paymentId: o.paymentId, status: 'flagged', fen: 3700 })]);

    const refused = await post(`/v1/payments/${o.paymentId}/resolve`, TOKENS.service, { decision: 'refund', reason: 'customer asked' });
    expect(refused.statusCode).toBe(403);
    const invalid = await post(`/v1/payments/${o.paymentId}/resolve`, TOKENS.admin, { decision: 'keep' });
    expect(invalid.statusCode).toBe(400);
    const res = await post(`/v1/payments/${o.paymentId}/resolve`, TOKENS.admin, {
      decision: 'refund',
      reason: 'the platform charged 37 yuan; customer asked for the money back',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ paymentId: o.paymentId, decision: 'refund', status: 'refunding' });
    await orderInStatus(t, o.orderId, 'refunded', { tickSeconds: 1 });
    expect(platform().refunds()).toEqual([expect.objectContaining({ outTradeNo: o.paymentId, amount: { value: 3700, currency: 'CNY' } })]);
    const history = (await get(`/v1/orders/${o.orderId}/history`, TOKENS.admin)).json<{ events: { type: string; data: Record<string, unknown> }[] }>().events;
    expect(history.find((e) => e.type === 'PaymentReviewed')?.data).toMatchObject({
      decision: 'refund',
      by: { role: 'admin' },
      reason: expect.stringContaining('customer asked'),
    });
    expect((await post(`/v1/payments/${o.paymentId}/resolve`, TOKENS.admin, { decision: 'accept', reason: 'changed my mind' })).statusCode).toBe(409);
    await noViolations();
  });

  it('an amount mismatch accepted by an admin pays the order with the amount taken, and it is provisioned', async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '1000' }, { process: true });
    platform().setFaults({ amountMismatchFen: -100 });
    const o = await placeAndConfirm(t, 'mismatch-accept');
    await eventually(t, async () => ((await payment(o.orderId)).status === 'flagged' ? true : undefined), 'the payment to be flagged');
    const res = await post(`/v1/payments/${o.paymentId}/resolve`, TOKENS.admin, { decision: 'accept', reason: 'promotion price agreed with the customer' });
    expect(res.statusCode, res.body).toBe(200);
    await orderInStatus(t, o.orderId, 'provisioned', { tickSeconds: 1 });
    expect(platform().refunds()).toEqual([]);
    const succeeded = (await get(`/v1/orders/${o.orderId}/history`, TOKENS.admin))
      .json<{ events: { type: string; data: Record<string, unknown> }[] }>()
      .events.find((e) => e.type === 'PaymentSucceeded');
    expect(succeeded?.data).toMatchObject({ source: 'review', amount: { value: 3700, currency: 'CNY' } });
    await noViolations();
  });
});

describe('partner clocks never schedule anything', () => {
  it.each([
    ['2099-06-01T00:00:00.000Z', 'in 2099'],
    ['2001-06-01T00:00:00.000Z', 'in 2001'],
  ])('a paidAt %s (%s): recorded and shown, flagged as skew; the BOSS request, validFrom and the finance day follow our clock', async (paidAt) => {
    t = await startTestLedger({ RETRY_BASE_MS: '1000' }, { process: true });
    platform().setFaults({ dropNotifications: true });
    const o = await placeAndConfirm(t, `skew-${paidAt.slice(0, 4)}`);
    const trade = await settledTrade(t, o.paymentId);
    const ours = t.clock.now.toISOString();
    const res = await notifyAbout(t, trade, { notificationId: 'n-skew', status: 'SUCCESS', paidAt });
    expect(res.statusCode).toBe(200);
    const provisioned = await orderInStatus(t, o.orderId, 'provisioned', { tickSeconds: 1 });
    const boss = provisioned.boss as { validFrom: string; validUntil: string };
    expect(boss.validFrom).toBe(ours);
    expect(Date.parse(boss.validUntil)).toBe(Date.parse(ours) + 30 * 86_400_000);
    expect((provisioned.payment as { platformPaidAt?: string }).platformPaidAt).toBe(paidAt);
    expect((provisioned.steps as { paidAt: string }).paidAt).toBe(ours);
    const ent = await get('/v1/smartcards/8100123456789012/entitlements');
    expect(ent.json().entitlements).toEqual([expect.objectContaining({ validFrom: ours })]);
    const day = accountingDay(ours);
    const entries = (await get(`/v1/finance/entries?day=${day}&kind=charge`, TOKENS.admin)).json<{ items: { paymentId: string }[] }>().items;
    expect(entries.map((e) => e.paymentId)).toEqual([o.paymentId]);
    expect(await metric('tvpay_partner_clock_skew_total{partner="payment-platform"}')).toBe(1);
  });
});

describe('lanes, not a line', () => {
  it('BOSS hung and /trades slow: a new order’s code SMS still goes out while those calls are in flight', async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '1000', BOSS_TIMEOUT_MS: '30000', PAYMENT_PLATFORM_TIMEOUT_MS: '30000' }, { process: true });
    boss().setFaults({ slowOperations: ['POST /entitlements'], slowMs: 20_000 });
    for (let i = 0; i < 6; i++) await placeAndConfirm(t, `busy-${i}`, { subscriberId: `busy-${i}`, smartcardId: `busy-card-${i}`, msisdn: `1390000000${i}` });
    // Every one of those orders is paid and its BOSS request hangs; now the platform slows down too.
    await eventually(t, async () => ((boss().inspect().inFlight['POST /entitlements'] ?? 0) >= 6 ? true : undefined), 'six BOSS calls hanging');
    platform().setFaults({ slowOperations: ['POST /trades'], slowMs: 20_000 });
    for (let i = 0; i < 4; i++) await placeAndConfirm(t, `slow-${i}`, { subscriberId: `slow-${i}`, smartcardId: `slow-card-${i}`, msisdn: `1370000000${i}` });
    await eventually(t, async () => ((platform().inFlight()['POST /trades'] ?? 0) >= 4 ? true : undefined), 'four trades hanging');

    const placed = await t.placeOrder({ subscriberId: 'new', smartcardId: 'new-card', msisdn: '13600000000' }, 'the-new-one');
    expect(placed.statusCode).toBe(201);
    await codeFromSms(t, '+8613600000000');
    // The code went out while every slow call was still waiting for its answer.
    expect(boss().inspect().inFlight['POST /entitlements']).toBeGreaterThanOrEqual(6);
    expect(platform().inFlight()['POST /trades']).toBeGreaterThanOrEqual(4);
  });

  it('34 cards whose BOSS requests keep failing, each with a renewal queued behind: nobody else waits — a new order is paid, provisioned and told', async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '1000', RETRY_MAX_ATTEMPTS: '100' }, { process: true });
    const cards = Array.from({ length: 34 }, (_, i) => `stuck-${String(i).padStart(2, '0')}`);
    boss().setFaults({ busySmartcards: cards });
    for (const [i, card] of cards.entries()) {
      const body = { subscriberId: `s-${card}`, smartcardId: card, msisdn: `1350000${String(i).padStart(4, '0')}` };
      await placeAndConfirm(t, `first-${card}`, body);
      await placeAndConfirm(t, `renewal-${card}`, body);
    }
    await eventually(t, async () => ((await outbound('kind=boss&status=pending&limit=200')).length === 68 ? true : undefined), '68 BOSS requests pending');
    // Only the head of each card's requests may run: the renewals are not even in the worker's query.
    const runnable = await t.service.reads.find(OUTBOUND_TASKS, dueQuery('boss', new Date(t.clock.now.getTime() + 86_400_000), 1000));
    expect(runnable.items).toHaveLength(34);
    expect(new Set(runnable.items.map((d) => d.group)).size).toBe(34);

    const fresh = await placeAndConfirm(t, 'unaffected', { subscriberId: 'fresh', smartcardId: 'fresh-card', msisdn: '13511112222' });
    await orderInStatus(t, fresh.orderId, 'provisioned', { tickSeconds: 1 });
    await smsArrives(t, { smartcardId: 'fresh-card' }, '已开通', 'the TV told');
    // The stuck cards recover: each card's first request, then its renewal starting where the first ends.
    boss().setFaults({ busySmartcards: [] });
    await eventually(t, async () => ((await outbound('kind=boss&status=done&limit=200')).length === 69 ? true : undefined), 'every BOSS request done', {
      tickSeconds: 5,
      timeoutMs: 60_000,
    });
    const ent = (await get(`/v1/smartcards/${cards[0]}/entitlements`)).json<{ entitlements: { validFrom: string; validUntil: string }[] }>().entitlements;
    expect(ent).toHaveLength(1);
    expect(Date.parse(ent[0]?.validUntil ?? '') - Date.parse(ent[0]?.validFrom ?? '')).toBe(60 * 86_400_000);
  }, 120_000);
});

describe('nothing gives up silently', () => {
  it('an SMS gateway down for a while: the code is retried past RETRY_MAX_ATTEMPTS until it gets through; a new code may be asked for at once', async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '1000', RETRY_MAX_ATTEMPTS: '2', OUTBOUND_BREAKER_COOLDOWN_MS: '50' }, { process: true });
    const gateway = sms(t);
    gateway.setFaults({ errorRate: 1 });
    const placed = (await t.placeOrder({}, 'sms-down')).json<{ orderId: string; paymentId: string }>();
    const code = await eventually(
      t,
      async () => (await outbound(`orderId=${placed.orderId}&kind=sms`)).find((x) => x.template === 'code' && x.attempts >= 4),
      'four attempts at the code SMS',
      { tickSeconds: 2 },
    );
    expect(code).toMatchObject({ status: 'pending', lastError: expect.stringMatching(/503/) });
    // The TV's message, not as critical, gave up after RETRY_MAX_ATTEMPTS, and that is counted.
    await eventually(
      t,
      async () => (await outbound(`orderId=${placed.orderId}&kind=sms&status=failed`)).find((x) => x.template === 'order-tv'),
      'the TV message to give up',
      { tickSeconds: 2 },
    );
    await eventually(
      t,
      async () => ((await metric('tvpay_tasks_abandoned_total{kind="sms",reason="exhausted"}')) === 1 ? true : undefined),
      'the give-up counted',
    );
    // The code never reached the phone: a new one, at once (no 60 s wait).
    const resend = await post(`/v1/payments/${placed.paymentId}/resend-code`, TOKENS.phone);
    expect(resend.statusCode, resend.body).toBe(200);
    gateway.setFaults({ errorRate: 0 });
    const second = await codeFromSms(t);
    expect(second).toBe(t.codeFor(placed.paymentId, 2));
    expect((await t.confirm(placed.paymentId, second)).statusCode).toBe(200);
    await orderInStatus(t, placed.orderId, 'provisioned', { tickSeconds: 1 });
  });

  it('GET /v1/outbound lists every kind of outbound work; /v1/provisioning stays the BOSS view', async () => {
    t = await startTestLedger({}, { process: true });
    const o = await placeAndConfirm(t, 'views');
    await orderInStatus(t, o.orderId, 'provisioned');
    await caughtUp(t);
    const all = await outbound(`orderId=${o.orderId}&limit=50`);
    expect(new Set(all.map((x) => x.kind))).toEqual(new Set(['expire', 'sms', 'trade', 'query', 'boss']));
    const bossOnly = (await get(`/v1/provisioning?orderId=${o.orderId}`)).json<{ items: TaskView[] }>().items;
    expect(bossOnly.map((x) => x.kind)).toEqual(['boss']);
    expect((await get('/v1/outbound?kind=fax')).statusCode).toBe(400);
    expect((await get('/v1/outbound', TOKENS.phone)).statusCode).toBe(403);
  });
});

describe('resend and confirm keep their rules under bursts', () => {
  // The payment's own rules are under test: the HTTP limits per payment and per address
  // (test/security/limits.test.ts) would refuse most of each burst before the payment sees it.
  const unlimited = { RATE_LIMIT_CONFIRM_PER_PAYMENT: '1000', RATE_LIMIT_CONFIRM_PER_IP: '1000' };

  /** `n` six-digit codes, none of them `right`. */
  const wrongCodes = (right: string, n: number): string[] => Array.from({ length: n }, (_, i) => String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0'));
  const guess = (paymentId: string, code: string, requestId: string) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/payments/${paymentId}/confirm`,
      headers: { ...bearer(TOKENS.phone), 'x-request-id': requestId },
      payload: { code },
    });

  it.each([
    [30, 'all with one request id', () => 'x'],
    [300, 'all with one request id', () => 'x'],
    [40, 'each with its own request id', (i: number) => `guess-${i}`],
  ])(
    '%i concurrent wrong guesses, %s: exactly five are checked (422, attemptsLeft 4…0), the rest are refused (409) and change nothing; the payment fails, the order is cancelled',
    async (n, _how, requestId) => {
      t = await startTestLedger(unlimited);
      const placed = (await t.placeOrder(orderBody(), 'burst')).json<{ orderId: string; paymentId: string }>();
      const right = t.codeFor(placed.paymentId);
      let responses: LightMyRequestResponse[] = [];
      const written = await newEvents(t, async () => {
        responses = await Promise.all(wrongCodes(right, n).map((code, i) => guess(placed.paymentId, code, requestId(i))));
      });

      const checked = responses.filter((r) => r.statusCode === 422);
      const refused = responses.filter((r) => r.statusCode !== 422);
      expect(checked.map((r) => expectProblem(r, 422, 'wrong-code').attemptsLeft).sort()).toEqual([0, 1, 2, 3, 4]);
      expect(refused).toHaveLength(n - 5);
      for (const r of refused) expectProblem(r, 409);
      // The burst wrote the five strikes and their consequence, nothing else: every refusal changed nothing.
      expect(typesOf(written).sort()).toEqual([...Array<string>(5).fill('PaymentCodeRejected'), 'OrderCancelled', 'PaymentFailed'].sort());
      expect(written.find((e) => e.type === 'PaymentFailed')?.data).toMatchObject({ paymentId: placed.paymentId, reason: 'too_many_wrong_codes' });
      expect(written.find((e) => e.type === 'OrderCancelled')?.data).toMatchObject({ orderId: placed.orderId, reason: 'too_many_wrong_codes' });
      expectProblem(await t.confirm(placed.paymentId, right), 409, 'payment-closed');
    },
  );

  it('the right code inside a burst of wrong ones with one request id: 200 means confirmed and the trade reaches the platform, never a stored rejection; otherwise nothing is sent', async () => {
    for (let round = 0; round < 5; round++) {
      t = await startTestLedger(unlimited, { process: true });
      const placed = (await t.placeOrder(orderBody(), `burst-right-${round}`)).json<{ orderId: string; paymentId: string }>();
      const right = t.codeFor(placed.paymentId);
      const codes = [...wrongCodes(right, 9), right];
      const responses = await Promise.all(codes.map((code) => guess(placed.paymentId, code, 'same')));
      const rightAnswer = responses[9];
      const tradesOfPayment = () =>
        platform()
          .trades()
          .filter((x) => x.outTradeNo === placed.paymentId);
      if (rightAnswer?.statusCode === 200) {
        const types = (await t.allEvents()).map((e) => e.type);
        expect(types).toContain('PaymentConfirmed');
        expect(types).toContain('OrderPaymentPending');
        await eventually(t, async () => (tradesOfPayment().length > 0 ? true : undefined), 'the trade at the platform');
        expect(tradesOfPayment()).toEqual([expect.objectContaining({ outTradeNo: placed.paymentId, amount: { value: 3800, currency: 'CNY' } })]);
        // Its notification answered before closing: a close while it is in flight waits for the keep-alive connection (~72 s).
        await platform().settled();
      } else {
        expect([409, 422]).toContain(rightAnswer?.statusCode);
        await orderInStatus(t, placed.orderId, 'cancelled');
        await caughtUp(t);
        const types = (await t.allEvents()).map((e) => e.type);
        expect(types).not.toContain('PaymentConfirmed');
        // No trade was ever asked for, so none can be sent later either.
        expect(await outbound(`orderId=${placed.orderId}&kind=trade`)).toEqual([]);
        expect(tradesOfPayment()).toEqual([]);
      }
      expect((await t.allEvents()).filter((e) => e.type === 'PaymentCodeRejected').length).toBeLessThanOrEqual(5);
      if (round < 4) await t.close();
    }
  });
});
