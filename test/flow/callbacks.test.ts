/**
 * The optional order-result callback to the open platform (patent claim 1 step 4): a receiver on
 * 127.0.0.1 records what the ledger POSTs, verifies every signature, and can be told to fail.
 * In one process with the in-process simulators and a test clock; waits on conditions, never sleeps.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verify } from '../../integrations/signature.ts';
import { OUTBOUND_TASKS as TASKS } from '../../outbound/queue.ts';
import { startReceiver, type CallbackReceiver, type Received } from '../support/callback-receiver.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';
import { stacks } from './stacks.ts';
import { bossSim, caughtUp, eventually, orderInStatus, placeAndConfirm, platformSim } from './support.ts';

const SECRET = 'test-callback-secret-0123456789';
const PHONE = '13800138000';

let receiver: CallbackReceiver;
let t: TestLedger;

beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
});
let closeStack: (() => Promise<void>) | undefined;
afterEach(async () => {
  await t.close();
  await closeStack?.();
  closeStack = undefined;
  receiver.reset();
});

const start = (env: Record<string, string> = {}) =>
  startTestLedger(
    { OPEN_PLATFORM_CALLBACK_URL: receiver.url, OPEN_PLATFORM_CALLBACK_SECRET: SECRET, RETRY_BASE_MS: '1000', RETRY_MAX_ATTEMPTS: '5', ...env },
    { process: true },
  );

const deliveredWith = (orderId: string, status: string) => async () => receiver.delivered().find((r) => r.body.orderId === orderId && r.body.status === status);

const callbackTask = (id: string) => t.service.reads.get(TASKS, id);

/** The callback's task once it is `status`; the test clock moves a second per try, as backoff runs on it. */
const callbackTaskIn = (id: string, status: 'done' | 'failed', what: string) =>
  eventually(
    t,
    async () => {
      const doc = await callbackTask(id);
      return doc?.status === status ? doc : undefined;
    },
    what,
    { tickSeconds: 1 },
  );

/** An order placed, then cancelled by the open platform: a `cancelled` callback is due. */
const placeAndCancel = async (key: string): Promise<{ orderId: string; paymentId: string }> => {
  const placed = (await t.placeOrder({}, key)).json<{ orderId: string; paymentId: string }>();
  const cancel = await t.app.inject({ method: 'POST', url: `/v1/orders/${placed.orderId}/cancel`, headers: bearer(TOKENS.openPlatform) });
  expect(cancel.statusCode).toBe(200);
  return placed;
};

/** Every request is signed with the callback secret over its raw body, keyed by its callbackId, without the phone. */
const expectWellFormed = (r: Received) => {
  expect(r.headers['content-type']).toBe('application/json');
  expect(r.headers['idempotency-key']).toBe(r.body.callbackId);
  const signature = r.headers['x-ledger-signature'];
  expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  expect(verify(typeof signature === 'string' ? signature : undefined, r.raw, [SECRET], Date.now() / 1000)).toEqual({ ok: true });
  expect(verify(typeof signature === 'string' ? signature : undefined, r.raw, ['another-secret-0123456789'], Date.now() / 1000).ok).toBe(false);
  expect(r.raw).not.toContain(PHONE.slice(3));
  expect(r.raw).not.toMatch(/msisdn/i);
};

describe.each(stacks)('with OPEN_PLATFORM_CALLBACK_URL on $name', (stack) => {
  it('the happy path: a signed `paid` then `provisioned` callback, each once, keyed by its callbackId', async () => {
    const started = await stack.start();
    closeStack = started.close;
    t = await start(started.env);
    const o = await placeAndConfirm(t, 'cb-happy');
    await orderInStatus(t, o.orderId, 'provisioned');
    const paid = await eventually(t, deliveredWith(o.orderId, 'paid'), 'the paid callback');
    const done = await eventually(t, deliveredWith(o.orderId, 'provisioned'), 'the provisioned callback');

    expect(paid.body).toEqual({
      callbackId: `callback:${o.orderId}:paid`,
      orderId: o.orderId,
      paymentId: o.paymentId,
      subscriberId: 'sub-1001',
      smartcardId: '8100123456789012',
      productId: 'sports-month',
      status: 'paid',
      at: expect.any(String),
      amount: { value: 3800, currency: 'CNY' },
    });
    expect(done.body).toMatchObject({
      callbackId: `callback:${o.orderId}:provisioned`,
      orderId: o.orderId,
      paymentId: o.paymentId,
      status: 'provisioned',
      validFrom: expect.any(String),
      validUntil: expect.any(String),
      amount: { value: 3800, currency: 'CNY' },
    });
    // The dates are the ones BOSS was sent, as the card's entitlement shows them.
    await caughtUp(t);
    const ent = await t.app.inject({ method: 'GET', url: '/v1/smartcards/8100123456789012/entitlements', headers: bearer(TOKENS.openPlatform) });
    expect(ent.json<{ entitlements: Record<string, unknown>[] }>().entitlements).toEqual([
      expect.objectContaining({ validFrom: done.body.validFrom, validUntil: done.body.validUntil }),
    ]);
    expect(Date.parse(String(done.body.at))).toBeGreaterThanOrEqual(Date.parse(String(paid.body.at)));
    for (const r of receiver.requests) expectWellFormed(r);

    // Exactly once each, and the tasks say so (once the worker has recorded the outcome).
    for (const status of ['paid', 'provisioned']) {
      const task = await eventually(
        t,
        async () => {
          const doc = await callbackTask(`callback:${o.orderId}:${status}`);
          return doc?.status === 'pending' ? undefined : doc;
        },
        `the ${status} task to finish`,
      );
      expect(task).toMatchObject({ kind: 'callback', status: 'done', attempts: 1 });
    }
    await caughtUp(t);
    expect(receiver.requests.map((r) => r.body.status).sort()).toEqual(['paid', 'provisioned']);
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^tvpay_outbound_calls_total\{system="open-platform",task="callback",outcome="ok"\} 2$/m);
  });
});

describe('with OPEN_PLATFORM_CALLBACK_URL', () => {
  it('a reprovision by customer service: a second `provisioned` callback with its own callbackId', async () => {
    t = await start();
    const o = await placeAndConfirm(t, 'cb-reprovision');
    await eventually(t, deliveredWith(o.orderId, 'provisioned'), 'the provisioned callback');
    const r = await t.app.inject({ method: 'POST', url: `/v1/orders/${o.orderId}/reprovision`, headers: bearer(TOKENS.service) });
    expect(r.statusCode).toBeLessThan(300);
    const again = await eventually(
      t,
      async () => receiver.delivered().find((x) => x.body.callbackId === `callback:${o.orderId}:provisioned:1`),
      'the reprovision callback',
    );
    expect(again.body).toMatchObject({ status: 'provisioned', validFrom: expect.any(String), validUntil: expect.any(String) });
    expectWellFormed(again);
  });

  it('a cancelled order: a `cancelled` callback with its reason, and nothing paid', async () => {
    t = await start();
    const placed = await placeAndCancel('cb-cancel');
    const r = await eventually(t, deliveredWith(placed.orderId, 'cancelled'), 'the cancelled callback');
    expect(r.body).toMatchObject({
      callbackId: `callback:${placed.orderId}:cancelled`,
      paymentId: placed.paymentId,
      status: 'cancelled',
      reason: 'customer',
      amount: { value: 3800, currency: 'CNY' },
    });
    expectWellFormed(r);
    await caughtUp(t);
    expect(receiver.requests.map((x) => x.body.status)).toEqual(['cancelled']);
  });

  it('BOSS refuses for good: `paid`, then `provisioning_failed` with its reason, then `refunded`', async () => {
    t = await start();
    bossSim(t).setFaults({ refuseSmartcards: ['card-refused'] });
    const o = await placeAndConfirm(t, 'cb-refund', { smartcardId: 'card-refused' });
    await orderInStatus(t, o.orderId, 'refunded');
    await eventually(t, deliveredWith(o.orderId, 'refunded'), 'the refunded callback');
    const failed = await eventually(t, deliveredWith(o.orderId, 'provisioning_failed'), 'the provisioning_failed callback');
    await eventually(t, deliveredWith(o.orderId, 'paid'), 'the paid callback');
    expect(failed.body).toMatchObject({ smartcardId: 'card-refused', reason: expect.stringMatching(/card not paired/) });
    for (const r of receiver.requests) expectWellFormed(r);
    await caughtUp(t);
    expect(receiver.requests.map((r) => r.body.status).sort()).toEqual(['paid', 'provisioning_failed', 'refunded']);
  });

  it('the platform fails the payment: a `payment_failed` callback with its reason', async () => {
    t = await start();
    platformSim(t).setFaults({ failMsisdnSuffixes: ['0004'] });
    const o = await placeAndConfirm(t, 'cb-pay-failed', { msisdn: '13800130004' });
    const r = await eventually(t, deliveredWith(o.orderId, 'payment_failed'), 'the payment_failed callback');
    expect(r.body).toMatchObject({ status: 'payment_failed', reason: expect.any(String) });
    expect(r.raw).not.toContain('13800130004');
    expectWellFormed(r);
  });

  it('an order never confirmed: an `expired` callback at the expiry time', async () => {
    t = await start();
    const placed = (await t.placeOrder({}, 'cb-expire')).json<{ orderId: string; expiresAt: string }>();
    t.clock.advance(900);
    const r = await eventually(t, deliveredWith(placed.orderId, 'expired'), 'the expired callback');
    expect(r.body).toMatchObject({ status: 'expired', at: placed.expiresAt });
    expect(r.body).not.toHaveProperty('reason');
    expectWellFormed(r);
  });

  it('the receiver fails twice (503): retried with backoff, delivered once, three attempts recorded', async () => {
    t = await start();
    receiver.fail(2);
    const placed = await placeAndCancel('cb-retry');
    const id = `callback:${placed.orderId}:cancelled`;
    const task = await callbackTaskIn(id, 'done', 'the callback to be delivered');
    expect(task).toMatchObject({ kind: 'callback', status: 'done', attempts: 3 });
    expect(receiver.requests.map((r) => r.answered)).toEqual([503, 503, 204]);
    expect(receiver.delivered()).toHaveLength(1);
    // Every attempt carries the same key and body; each is signed on its own.
    for (const r of receiver.requests) {
      expectWellFormed(r);
      expect(r.body.callbackId).toBe(id);
    }
    expect(new Set(receiver.requests.map((r) => JSON.stringify({ ...r.body })))).toHaveProperty('size', 1);
  });

  it('a 4xx other than 409/429 is final: one attempt, the task failed, the order unaffected', async () => {
    t = await start();
    receiver.fail(1, 400);
    const placed = await placeAndCancel('cb-final');
    const task = await callbackTaskIn(`callback:${placed.orderId}:cancelled`, 'failed', 'the callback to fail');
    expect(task).toMatchObject({ attempts: 1, lastError: expect.stringContaining('HTTP 400') });
    expect(receiver.requests).toHaveLength(1);
    expect((await orderInStatus(t, placed.orderId, 'cancelled')).status).toBe('cancelled');
  });

  it('a receiver down for longer than RETRY_MAX_ATTEMPTS: the task is abandoned (failed), like other tasks', async () => {
    t = await start({ RETRY_MAX_ATTEMPTS: '3' });
    receiver.fail(100);
    const placed = await placeAndCancel('cb-down');
    const task = await callbackTaskIn(`callback:${placed.orderId}:cancelled`, 'failed', 'the callback to be abandoned');
    expect(task).toMatchObject({ attempts: 3, lastError: expect.stringContaining('HTTP 503') });
    expect(receiver.requests).toHaveLength(3);
  });
});

describe('without OPEN_PLATFORM_CALLBACK_URL', () => {
  it('no callback task exists and nothing is sent', async () => {
    t = await startTestLedger({}, { process: true });
    const o = await placeAndConfirm(t, 'cb-off');
    await orderInStatus(t, o.orderId, 'provisioned');
    await placeAndCancel('cb-off-cancel');
    await caughtUp(t);
    const callbacks = await t.service.reads.find(TASKS, { where: { kind: 'callback' }, orderBy: { field: 'createdAt', direction: 'asc' }, limit: 10 });
    expect(callbacks.items).toEqual([]);
    const others = await t.service.reads.find(TASKS, { where: { orderId: o.orderId }, orderBy: { field: 'createdAt', direction: 'asc' }, limit: 50 });
    expect(others.items.length).toBeGreaterThan(0);
    expect(receiver.requests).toEqual([]);
  });
});
