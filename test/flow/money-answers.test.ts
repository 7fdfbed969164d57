/**
 * Answers about money that are not an outcome: a refund accepted but not made (PROCESSING), a refusal
 * (a 4xx from a firewall, a stale key, a deadline passed) of a trade, a query or a refund. None of them
 * says where the money is, so none is recorded as if it did: the work is asked again until the
 * platform says, or until the deadline, when a person must look (and the audit names the money).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import { auditLog } from '../../scripts/audit/audit-log.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { settledTrade } from '../support/platform-notifications.ts';
import { bearer, orderBody, TOKENS } from '../support/fixtures.ts';
import { caughtUp, eventually, getOrder, historyTypes, orderInStatus, placeAndConfirm, platformSim, bossSim, sms, metricValue } from './support.ts';

let t: TestLedger;
afterEach(async () => {
  await t.close();
});

const REFUSED_CARD = '8100000000000077';

type TaskView = { taskId: string; status: string; attempts: number; lastError: string | null; giveUpReason: string | null };
const tasks = async (orderId: string, kind: string): Promise<TaskView[]> =>
  (await t.app.inject({ method: 'GET', url: `/v1/outbound?orderId=${orderId}&kind=${kind}`, headers: bearer(TOKENS.service) })).json<{ items: TaskView[] }>()
    .items;
const refundMessages = () =>
  sms(t)
    .messages({ msisdn: '+8613800138000' })
    .filter((m) => m.text.includes('退款'));
describe('a refund the platform accepted but has not made', () => {
  it('PROCESSING is not refunded: the order waits, the same refundNo is asked again, and only SUCCESS refunds it (once, with one SMS)', async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '1000', PAYMENT_QUERY_AFTER_SECONDS: '120' }, { process: true });
    bossSim(t).setFaults({ refuseSmartcards: [REFUSED_CARD] });
    platformSim(t).setFaults({ refundProcessingAnswers: 2 });
    const o = await placeAndConfirm(t, 'refund-processing', { smartcardId: REFUSED_CARD });
    await orderInStatus(t, o.orderId, 'provisioning_failed');
    const [deferred] = await eventually(
      t,
      async () => {
        const found = await tasks(o.orderId, 'refund');
        return found[0]?.attempts === 1 && found[0].status === 'pending' ? found : undefined;
      },
      'the refund asked once and deferred',
    );
    expect(deferred).toMatchObject({ status: 'pending', giveUpReason: null });
    expect(platformSim(t).refunds()).toMatchObject([{ status: 'PROCESSING', refundNo: `refund-${o.orderId}` }]);
    await caughtUp(t);
    expect((await getOrder(t, o.orderId))?.status).toBe('provisioning_failed');
    expect(await historyTypes(t, o.orderId)).not.toContain('PaymentRefunded');
    expect(refundMessages()).toHaveLength(0);

    await orderInStatus(t, o.orderId, 'refunded', { tickSeconds: 30, timeoutMs: 20_000 });
    expect(platformSim(t).refunds()).toMatchObject([{ status: 'SUCCESS', refundNo: `refund-${o.orderId}` }]);
    const [finished] = await eventually(
      t,
      async () => {
        const found = await tasks(o.orderId, 'refund');
        return found[0]?.status === 'done' ? found : undefined;
      },
      'the refund task done',
    );
    expect(finished).toMatchObject({ attempts: 3 });
    expect((await historyTypes(t, o.orderId)).filter((x) => x === 'PaymentRefunded')).toHaveLength(1);
    await eventually(t, async () => (refundMessages().length === 1 ? true : undefined), 'the refund SMS');
    await caughtUp(t);
    expect((await auditLog(t.service.ledger.store)).findings).toEqual([]);
  });
});

describe('a refusal says nothing of the money', () => {
  it('a query refused (403) while the platform took the money and its notification was lost: asked again, then paid and provisioned', async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '1000', PAYMENT_QUERY_AFTER_SECONDS: '120' }, { process: true });
    platformSim(t).setFaults({ dropNotifications: true });
    const o = await placeAndConfirm(t, 'query-403');
    expect((await settledTrade(t, o.paymentId)).status).toBe('SUCCESS');
    platformSim(t).setFaults({ failOperations: ['GET /trades/{outTradeNo}'], failStatus: 403 });
    t.clock.advance(120);
    const [refused] = await eventually(
      t,
      async () => {
        const found = await tasks(o.orderId, 'query');
        return found[0]?.lastError?.includes('403') ? found : undefined;
      },
      'the query refused',
    );
    expect(refused).toMatchObject({ status: 'pending', giveUpReason: null, lastError: expect.stringMatching(/^refused: .*403/) });
    platformSim(t).setFaults({ failOperations: [], failStatus: 503 });
    await orderInStatus(t, o.orderId, 'provisioned', { tickSeconds: 5 });
    expect((await tasks(o.orderId, 'query'))[0]).toMatchObject({ status: 'done' });
  });

  it('POST /trades refused (400) on every attempt: nothing is given up early; after the payment deadline and its grace the payment fails, no money moved', async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '1000', PAYMENT_QUERY_AFTER_SECONDS: '120' }, { process: true });
    platformSim(t).setFaults({ failOperations: ['POST /trades'], failStatus: 400 });
    const o = await placeAndConfirm(t, 'trade-400');
    await eventually(t, async () => ((await tasks(o.orderId, 'trade'))[0]?.attempts ?? 0) >= 3 || undefined, 'three attempts at the trade', {
      tickSeconds: 2,
    });
    expect((await tasks(o.orderId, 'trade'))[0]).toMatchObject({ status: 'pending', giveUpReason: null });
    expect((await getOrder(t, o.orderId))?.status).toBe('payment_pending');
    const failed = await orderInStatus(t, o.orderId, 'payment_failed', { tickSeconds: 60, timeoutMs: 20_000 });
    expect(failed.failureReason).toBe('trade_not_created');
    expect(platformSim(t).trades()).toHaveLength(0);
    expect((await tasks(o.orderId, 'trade'))[0]).toMatchObject({ status: 'done' });
  });

  it('POST /refunds refused (422) on every attempt: asked again until the deadline, then given up for a person, counted, and named by the audit', async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '1000', PAYMENT_QUERY_AFTER_SECONDS: '120', PAYMENT_QUERY_DEADLINE_SECONDS: '3600' }, { process: true });
    bossSim(t).setFaults({ refuseSmartcards: [REFUSED_CARD] });
    platformSim(t).setFaults({ failOperations: ['POST /refunds'], failStatus: 422 });
    const o = await placeAndConfirm(t, 'refund-422', { smartcardId: REFUSED_CARD });
    await orderInStatus(t, o.orderId, 'provisioning_failed');
    await eventually(t, async () => ((await tasks(o.orderId, 'refund'))[0]?.attempts ?? 0) >= 2 || undefined, 'a second attempt at the refund', {
      tickSeconds: 2,
    });
    expect((await tasks(o.orderId, 'refund'))[0]).toMatchObject({ status: 'pending', giveUpReason: null });
    const [gaveUp] = await eventually(
      t,
      async () => {
        const found = await tasks(o.orderId, 'refund');
        return found[0]?.status === 'failed' ? found : undefined;
      },
      'the refund given up at its deadline',
      { tickSeconds: 60, timeoutMs: 20_000 },
    );
    expect(gaveUp).toMatchObject({ giveUpReason: 'deadline', lastError: expect.stringMatching(/^refused: .*422/) });
    expect(await metricValue(t, 'tvpay_tasks_abandoned_total{kind="refund",reason="deadline"}')).toBe(1);
    expect(platformSim(t).refunds()).toHaveLength(0);
    await caughtUp(t);
    expect((await getOrder(t, o.orderId))?.status).toBe('provisioning_failed');
    const audit = await auditLog(t.service.ledger.store);
    expect(audit.findings.map((f) => f.rule)).toContain('money-stranded');
  });
});

describe('paid is not the goods', () => {
  it('an order paid whose BOSS request was given up, and that nobody reprovisioned or refunded, is money stranded after the grace period; provisioned, it is not', async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '1000', RETRY_MAX_ATTEMPTS: '2' }, { process: true });
    bossSim(t).setFaults({ failOperations: ['POST /entitlements'] });
    const o = await placeAndConfirm(t, 'paid-never-opened');
    await orderInStatus(t, o.orderId, 'paid');
    await eventually(t, async () => ((await tasks(o.orderId, 'boss'))[0]?.status === 'failed' ? true : undefined), 'BOSS given up', { tickSeconds: 2 });
    await caughtUp(t);
    const dayLater = new Date(t.clock.now.getTime() + 25 * 3600_000);
    const stranded = (await auditLog(t.service.ledger.store, { now: dayLater })).stranded;
    expect(stranded).toEqual([expect.objectContaining({ paymentId: o.paymentId, orderId: o.orderId, status: 'succeeded', fen: 3800 })]);

    bossSim(t).setFaults({ failOperations: [] });
    const reprovision = await t.app.inject({ method: 'POST', url: `/v1/orders/${o.orderId}/reprovision`, headers: bearer(TOKENS.service) });
    expect(reprovision.statusCode).toBeLessThan(300);
    await orderInStatus(t, o.orderId, 'provisioned', { tickSeconds: 1 });
    await caughtUp(t);
    expect((await auditLog(t.service.ledger.store, { now: dayLater })).stranded).toEqual([]);
  });
});

describe('what the subscriber and the open platform are told is the money that moved', () => {
  let receiver: CallbackReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });
  const startWithReceiver = async () => {
    receiver = await startReceiver();
    t = await startTestLedger(
      { RETRY_BASE_MS: '1000', OPEN_PLATFORM_CALLBACK_URL: receiver.url, OPEN_PLATFORM_CALLBACK_SECRET: 'test-callback-secret-0123456789' },
      { process: true },
    );
    platformSim(t).setFaults({ amountMismatchFen: -100 });
  };
  const flagged = async (key: string) => {
    const o = await placeAndConfirm(t, key);
    await eventually(t, async () => ((await getOrder(t, o.orderId))?.payment as { status?: string } | undefined)?.status === 'flagged' || undefined, 'flagged');
    return o;
  };
  const resolve = (paymentId: string, decision: 'accept' | 'refund') =>
    t.app.inject({
      method: 'POST',
      url: `/v1/payments/${paymentId}/resolve`,
      headers: bearer(TOKENS.admin),
      payload: { decision, reason: 'took 37.00 for a 38.00 package' },
    });
  const callbackAmount = (orderId: string, status: string) =>
    eventually(t, async () => receiver?.delivered().find((r) => r.body.orderId === orderId && r.body.status === status)?.body.amount, `the ${status} callback`);
  /** The first message to `to` that says `text`. */
  const told = (to: { msisdn: string } | { smartcardId: string }, text: string) =>
    eventually(
      t,
      async () =>
        sms(t)
          .messages(to)
          .find((m) => m.text.includes(text))?.text,
      text,
    );
  const phoneSays = (text: string) => told({ msisdn: '+8613800138000' }, text);

  it.each([
    { decision: 'accept', status: 'provisioned', phone: '已支付', tv: '已支付', callbacks: ['paid', 'provisioned'] },
    { decision: 'refund', status: 'refunded', phone: '退款', tv: undefined, callbacks: ['refunded'] },
  ] as const)(
    '¥37.00 taken for a ¥38.00 package, $decision: the messages and the callbacks ($callbacks) say ¥37.00',
    async ({ decision, status, phone, tv, callbacks }) => {
      await startWithReceiver();
      const o = await flagged(`told-${decision}`);
      expect((await resolve(o.paymentId, decision)).statusCode).toBe(200);
      await orderInStatus(t, o.orderId, status, { tickSeconds: 1 });
      expect(await phoneSays(phone)).toContain('¥37.00');
      if (tv) expect(await told({ smartcardId: orderBody().smartcardId }, tv)).toContain('¥37.00');
      for (const callback of callbacks) expect(await callbackAmount(o.orderId, callback)).toEqual({ value: 3700, currency: 'CNY' });
    },
  );
});
