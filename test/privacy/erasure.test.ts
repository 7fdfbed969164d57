/**
 * Erasure by crypto-shredding (POST /v1/subscribers/{id}/erasure, admin), on the embedded stores with
 * the whole process running: after it, no file under DATA_DIR and no answer of the API holds the
 * number, not even with the master key; the history, the read models and search say "erased"; the
 * audit still balances to the fen. Each refusal (404, 403, 401, 409, 400) changes nothing.
 * (The rebuild after an erasure: rebuild-after-erasure.test.ts.)
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eraseSubscriber } from '../../commands/erase-subscriber.ts';
import { createPersonalData } from '../../commands/personal-data.ts';
import { isSealed } from '../../domain/personal-data.ts';
import { auditLog } from '../../scripts/audit/audit-log.ts';
import { openSqliteEventStore } from '../../stores/sqlite/event-store.ts';
import { openSqliteKeyStore } from '../../stores/sqlite/key-store.ts';
import { expectProblem, expectValidation, newEvents, postAs, typesOf, writesNothing } from '../api/support.ts';
import { caughtUp, codeFromSms, eventually, getOrder, orderInStatus, sms } from '../flow/support.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';
import {
  answersHolding,
  eraseAs as eraseAsIn,
  everyAnswer,
  filesHolding,
  household as householdIn,
  numbersIn as numbersInOf,
  OTHER_PHONE,
  PHONE,
  provisioned as provisionedIn,
  search as searchIn,
  spellings,
  type Placed,
} from './support.ts';

let t: TestLedger;
beforeEach(async () => {
  t = await startTestLedger({ RETRY_BASE_MS: '5' }, { process: true });
});
afterEach(async () => t.close());

const eraseAs = (token: string | undefined, subscriberId: string) => eraseAsIn(t, token, subscriberId);
const numbersIn = (orderId: string, token?: string) => numbersInOf(t, orderId, token);
const search = (query: string) => searchIn(t, query);
const provisioned = (key: string, body: Record<string, string>) => provisionedIn(t, key, body);
const household = () => householdIn(t);

describe('POST /v1/subscribers/{id}/erasure', () => {
  it('erases the number everywhere: history, order and payment views, search; the other subscriber keeps theirs', async () => {
    const { paid, cancelled, other } = await household();
    // Before: an auditor reads the whole number, customer service the masked one, search finds both orders.
    expect(await numbersIn(paid.orderId)).toEqual(['OrderPlaced:8613800138000', 'PaymentRequested:8613800138000']);
    expect(await numbersIn(paid.orderId, TOKENS.service)).toEqual(['OrderPlaced:138****8000', 'PaymentRequested:138****8000']);
    expect((await search(`msisdn=${PHONE}`)).map((o) => o.orderId).sort()).toEqual([paid.orderId, cancelled.orderId].sort());

    const written = await newEvents(t, async () => {
      const res = await eraseAs(TOKENS.admin, 'sub-1001');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({
        subscriberId: 'sub-1001',
        status: 'erased',
        reason: 'request',
        erasedAt: t.clock.now.toISOString(),
        keysDestroyed: 1,
        plainNumbersInLog: false,
      });
    });
    // One event, in the subscriber's own stream, naming who erased; nothing else is written (outbound
    // work of the earlier orders may still be finishing in the task streams meanwhile).
    const ledgerEvents = written.filter((e) => !e.streamId.startsWith('task-'));
    expect(typesOf(ledgerEvents)).toEqual(['SubscriberErased']);
    expect(ledgerEvents[0]).toMatchObject({ streamId: 'subscriber-sub-1001', data: { subscriberId: 'sub-1001', reason: 'request', by: { role: 'admin' } } });
    await caughtUp(t);

    for (const order of [paid, cancelled]) {
      expect(await numbersIn(order.orderId)).toEqual(['OrderPlaced:erased', 'PaymentRequested:erased']);
      expect(await numbersIn(order.orderId, TOKENS.service)).toEqual(['OrderPlaced:erased', 'PaymentRequested:erased']);
      const view = await getOrder(t, order.orderId);
      expect(view).toMatchObject({ msisdn: 'erased', subscriberId: 'sub-1001', amount: { value: expect.any(Number), currency: 'CNY' } });
      const payment = await t.app.inject({ method: 'GET', url: `/v1/payments/${order.paymentId}`, headers: bearer(TOKENS.service) });
      expect(payment.json()).toMatchObject({ msisdn: 'erased' });
    }
    expect(await getOrder(t, paid.orderId)).toMatchObject({ status: 'provisioned', amount: { value: 3800, currency: 'CNY' } });
    // Search by phone finds nothing: the digest is gone. By subscriber it still finds the orders, number erased.
    expect(await search(`msisdn=${PHONE}`)).toEqual([]);
    expect((await search('subscriberId=sub-1001')).map((o) => o.msisdn)).toEqual(['erased', 'erased']);
    // The other subscriber is untouched.
    expect(await numbersIn(other.orderId)).toEqual(['OrderPlaced:8613900139000', 'PaymentRequested:8613900139000']);
    expect((await search(`msisdn=${OTHER_PHONE}`)).map((o) => o.orderId)).toEqual([other.orderId]);
  });

  it('then no file under DATA_DIR and no answer of the API holds the number; the files do not give it back even with the master key', async () => {
    const { paid, cancelled } = await household();
    const before = await everyAnswer(t, { orders: [paid, cancelled], subscriberId: 'sub-1001', smartcardId: '8100000000001001', msisdn: PHONE });
    // The answers did show it (masked to customer service, whole to the auditor): the check below can fail.
    expect(answersHolding(before, [...spellings(PHONE), '138****8000'])).not.toEqual([]);
    const keys = openSqliteKeyStore(join(t.dataDir, 'keys.db'));
    const key = await keys.get('sub-1001');
    await keys.close();
    if (!key) throw new Error('expected sub-1001 to have a data key');
    expect(filesHolding(t.dataDir, [key.wrapped])).not.toEqual([]);

    expect((await eraseAs(TOKENS.admin, 'sub-1001')).statusCode).toBe(200);
    await caughtUp(t);

    const after = await everyAnswer(t, { orders: [paid, cancelled], subscriberId: 'sub-1001', smartcardId: '8100000000001001', msisdn: PHONE });
    expect(after.filter((a) => a.status !== 200)).toEqual([]);
    expect(answersHolding(after, [...spellings(PHONE), '138****8000'])).toEqual([]);
    // events.db, read.db, keys.db, their WAL and shared-memory files, the generated secrets: none.
    expect(filesHolding(t.dataDir, [...spellings(PHONE), key.wrapped])).toEqual([]);

    // Everything under DATA_DIR, copied as an attacker would, with the master key: the number stays gone.
    const copy = mkdtempSync(join(tmpdir(), 'tvpay-stolen-'));
    try {
      cpSync(t.dataDir, copy, { recursive: true });
      const events = await openSqliteEventStore(join(copy, 'events.db'));
      const stolenKeys = openSqliteKeyStore(join(copy, 'keys.db'));
      try {
        // Outside production the master key is generated into the data directory: the attacker has it too.
        const masterSecrets = [readFileSync(join(copy, 'data-key-secret'), 'utf8').trim()];
        const attacker = createPersonalData({ keys: stolenKeys, masterSecrets, erasures: async () => ({ erased: false, keyIds: [] }), now: () => new Date() });
        const sealed = [...(await events.readStream(`order-${paid.orderId}`)), ...(await events.readStream(`payment-${paid.paymentId}`))]
          .map((e) => e.data.msisdn)
          .filter(isSealed);
        expect(sealed).toHaveLength(2);
        for (const s of sealed) await expect(attacker.reveal(s, 'sub-1001')).rejects.toThrow(/no key store this process can see/);
      } finally {
        await events.close();
        await stolenKeys.close();
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('replay and audit still balance to the fen, and count the erasure', async () => {
    await household();
    const before = await auditLog(t.service.ledger.store);
    expect(before.findings).toEqual([]);
    expect((await eraseAs(TOKENS.admin, 'sub-1001')).statusCode).toBe(200);
    const after = await auditLog(t.service.ledger.store);
    expect(after.findings).toEqual([]);
    expect(after.money).toEqual(before.money);
    expect(after.money).toEqual({ charged: 7600, refunded: 0, underReview: 0, net: 7600 });
    expect(after.orders).toEqual(before.orders);
    expect(after.payments).toEqual(before.payments);
    expect(before.erasedSubscribers).toBe(0);
    expect(after.erasedSubscribers).toBe(1);
  });

  it('a second erasure is already so: 200, nothing destroyed, nothing written', async () => {
    await household();
    const first = await eraseAs(TOKENS.admin, 'sub-1001');
    const again = await writesNothing(t, () => eraseAs(TOKENS.admin, 'sub-1001'));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ ...first.json(), keysDestroyed: 0 });
  });

  it('a retry of an order placed before the erasure is still that order (200, replayed), and makes the erased subscriber no new key; another request under the key is 422', async () => {
    const { paid } = await household();
    expect((await eraseAs(TOKENS.admin, 'sub-1001')).statusCode).toBe(200);
    expect(await t.service.ledger.personalData.keyIds('sub-1001')).toEqual([]);
    const before = await t.allEvents();
    const retry = await t.placeOrder({ subscriberId: 'sub-1001', smartcardId: '8100000000001001' }, 'era-paid');
    expect(retry.statusCode, retry.body).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json()).toMatchObject({ orderId: paid.orderId, paymentId: paid.paymentId, status: 'awaiting_confirmation' });
    expectProblem(
      await t.placeOrder({ subscriberId: 'sub-1001', smartcardId: '8100000000001001', productId: 'opera-month' }, 'era-paid'),
      422,
      'idempotency-key-reused',
    );
    expect(await t.service.ledger.personalData.keyIds('sub-1001')).toEqual([]);
    expect((await t.allEvents()).length).toBe(before.length);
  });

  it('the subscriber may order again afterwards: a new key, the new order readable, the old ones still erased; erasing again destroys the new key', async () => {
    const { paid } = await household();
    expect((await eraseAs(TOKENS.admin, 'sub-1001')).statusCode).toBe(200);
    const again = await provisioned('era-again', { subscriberId: 'sub-1001', smartcardId: '8100000000001001' });
    expect(await numbersIn(again.orderId)).toEqual(['OrderPlaced:8613800138000', 'PaymentRequested:8613800138000']);
    expect(await numbersIn(paid.orderId)).toEqual(['OrderPlaced:erased', 'PaymentRequested:erased']);
    await caughtUp(t);
    expect((await search(`msisdn=${PHONE}`)).map((o) => o.orderId)).toEqual([again.orderId]);
    const second = await eraseAs(TOKENS.admin, 'sub-1001');
    expect(second.json()).toMatchObject({ keysDestroyed: 1 });
    await caughtUp(t);
    expect(await numbersIn(again.orderId)).toEqual(['OrderPlaced:erased', 'PaymentRequested:erased']);
    expect(await search(`msisdn=${PHONE}`)).toEqual([]);
  });
});

describe('refusals change nothing', () => {
  /** Asserts that the subscriber's number is still there: the key, the history, search. */
  const stillReadable = async (orderId: string) => {
    expect(await numbersIn(orderId)).toEqual(['OrderPlaced:8613800138000', 'PaymentRequested:8613800138000']);
    await caughtUp(t);
    expect((await search(`msisdn=${PHONE}`)).map((o) => o.orderId)).toContain(orderId);
  };

  it('404 for a subscriber who never ordered', async () => {
    const { paid } = await household();
    const body = expectProblem(await writesNothing(t, () => eraseAs(TOKENS.admin, 'sub-never')), 404, 'subscriber-not-found');
    expect(body.detail).toContain('sub-never');
    await stillReadable(paid.orderId);
  });

  it('403 for every role but admin, 401 without a valid token', async () => {
    const { paid } = await household();
    for (const token of [TOKENS.service, TOKENS.openPlatform, TOKENS.phone]) {
      expectProblem(await writesNothing(t, () => eraseAs(token, 'sub-1001')), 403, 'forbidden');
    }
    for (const token of [undefined, 'not-a-token']) expectProblem(await writesNothing(t, () => eraseAs(token, 'sub-1001')), 401, 'unauthorized');
    await stillReadable(paid.orderId);
  });

  it('409 while an order is in flight, saying so and naming it; once it is settled, the erasure goes through', async () => {
    const { paid } = await household();
    const open = (await t.placeOrder({ subscriberId: 'sub-1001', smartcardId: '8100000000001001', productId: 'kids-quarter' }, 'era-open')).json<Placed>();
    const body = expectProblem(await writesNothing(t, () => eraseAs(TOKENS.admin, 'sub-1001')), 409, 'orders-in-flight');
    expect(body.detail).toMatch(/1 order\(s\) still in flight .*awaiting confirmation.*erase once they are settled/);
    expect(body).toMatchObject({ subscriberId: 'sub-1001', ordersInFlight: 1, orderIds: open.orderId });
    await stillReadable(paid.orderId);
    // The order in flight still reaches its phone: its code SMS needs the number.
    const code = t.codeFor(open.paymentId);
    await eventually(
      t,
      async () =>
        sms(t)
          .messages({ msisdn: `+86${PHONE}` })
          .some((m) => m.text.includes(code)) || undefined,
      'the code SMS of the open order',
    );
    expect((await postAs(t, TOKENS.phone, `/v1/payments/${open.paymentId}/decline`)).statusCode).toBe(200);
    await orderInStatus(t, open.orderId, 'cancelled');
    expect((await eraseAs(TOKENS.admin, 'sub-1001')).statusCode).toBe(200);
  });

  it('409 while paid and not yet provisioned (BOSS down)', async () => {
    const boss = t.service.integrations.simulated.boss;
    boss?.setFaults({ failNext: 1000 });
    const placed = (await t.placeOrder({ subscriberId: 'sub-3003', smartcardId: '8100000000003003' }, 'era-paid-only')).json<Placed>();
    expect((await t.confirm(placed.paymentId, await codeFromSms(t, `+86${PHONE}`))).statusCode).toBe(200);
    await orderInStatus(t, placed.orderId, 'paid');
    expectProblem(await writesNothing(t, () => eraseAs(TOKENS.admin, 'sub-3003')), 409, 'orders-in-flight');
    expect(await numbersIn(placed.orderId)).toEqual(['OrderPlaced:8613800138000', 'PaymentRequested:8613800138000']);
  });

  it.each([
    ['not allowed characters', 'sub 1001!'],
    ['too long', `s${'1'.repeat(64)}`],
    ['starting with a dot', '.sub'],
  ])('400 for a subscriber id with %s, naming params.subscriberId', async (_why, id) => {
    const { paid } = await household();
    expectValidation(await writesNothing(t, () => eraseAs(TOKENS.admin, id)), 'params.subscriberId');
    await stillReadable(paid.orderId);
  });
});

describe('an order placed in the very instant of the erasure', () => {
  it('sealed with the key being destroyed: its code is never sent, no trade is made, its payment fails, no money moves', async () => {
    // The SMS gateway is down for a moment, so the code SMS is still queued when the erasure comes.
    sms(t).setFaults({ failOperations: ['POST /messages'] });
    const placed = (await t.placeOrder({ subscriberId: 'sub-race', smartcardId: '8100000000009009' }, 'era-race')).json<Placed>();
    // The subscribers read model has not seen the new order yet when the erasure looks: as if it lagged.
    const lagging = { commands: t.service.ledger, facts: async () => ({ known: true, inFlight: [], plainNumbers: false }) };
    const ctx = { correlationId: 'race', causationId: 'race', actor: { role: 'admin', client: 'admin-test' } };
    expect(await eraseSubscriber(lagging, 'sub-race', 'request', ctx)).toMatchObject({ keysDestroyed: 1 });
    sms(t).setFaults({ failOperations: [] });
    const code = t.codeFor(placed.paymentId);
    await eventually(
      t,
      async () => {
        const r = await t.app.inject({ method: 'GET', url: `/v1/outbound?kind=sms&orderId=${placed.orderId}&status=done`, headers: bearer(TOKENS.service) });
        return r.json<{ items: { outcome: string }[] }>().items.find((i) => i.outcome === 'the phone number was erased');
      },
      'the code SMS to give up on the erased number',
      { tickSeconds: 1 },
    );
    expect(
      sms(t)
        .messages()
        .filter((m) => m.text.includes(code)),
    ).toEqual([]);
    // Whoever knows the code anyway (the test derives it) confirms: the trade cannot be made without the number.
    expect((await t.confirm(placed.paymentId, code)).statusCode).toBe(200);
    expect(await orderInStatus(t, placed.orderId, 'payment_failed')).toMatchObject({ failureReason: 'trade_not_created' });
    expect(t.service.integrations.simulated.platform?.trades().filter((x) => x.outTradeNo === placed.paymentId)).toEqual([]);
    expect(await numbersIn(placed.orderId)).toEqual(['OrderPlaced:erased', 'PaymentRequested:erased']);
    expect((await auditLog(t.service.ledger.store)).findings).toEqual([]);
  });
});
