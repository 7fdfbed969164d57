/**
 * Client isolation, as the clients would see it: what another open-platform client can do to an
 * order (nothing, and it cannot tell the order exists), what customer service can (everything),
 * how a client keeps its orders across a token rotation, and the phone's proof (the code).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API_TOKENS, bearer, orderBody, TOKENS } from '../support/fixtures.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { countOf, expectProblem, getAs, postAs, writesNothing, type Placed } from '../api/support.ts';

const ACME_OLD = 'acme-token-before-rotation';
const ACME_NEW = 'acme-token-after-rotation';
const ZETA = 'zeta-open-platform-token';

let t: TestLedger;
beforeEach(async () => {
  t = await startTestLedger({
    API_TOKENS: `${API_TOKENS},open-platform:acme:${ACME_OLD},open-platform:acme:${ACME_NEW},open-platform:zeta:${ZETA}`,
  });
});
afterEach(async () => {
  await t.close();
});

const placeAs = async (token: string, key: string): Promise<Placed> => {
  const res = await t.app.inject({ method: 'POST', url: '/v1/orders', headers: { ...bearer(token), 'idempotency-key': key }, payload: orderBody() });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<Placed>();
};

describe('open-platform clients are isolated', () => {
  it('another client cannot cancel an order: 404 order-not-found, nothing written, the order still payable by its subscriber', async () => {
    const order = await placeAs(ACME_OLD, 'k-1');
    await writesNothing(t, async () => {
      expectProblem(await postAs(t, ZETA, `/v1/orders/${order.orderId}/cancel`), 404, 'order-not-found');
      expectProblem(await postAs(t, TOKENS.openPlatform, `/v1/orders/${order.orderId}/cancel`), 404, 'order-not-found');
    });
    expect((await t.confirm(order.paymentId, t.codeFor(order.paymentId))).statusCode).toBe(200);
  });

  it('another client cannot read an order: 404 order-not-found, before any read model is asked', async () => {
    const order = await placeAs(ACME_OLD, 'k-1');
    expectProblem(await getAs(t, ZETA, `/v1/orders/${order.orderId}`), 404, 'order-not-found');
  });

  it('a client keeps its orders across a token rotation: both tokens named acme read and cancel what either placed', async () => {
    const order = await placeAs(ACME_OLD, 'k-1');
    const res = await postAs(t, ACME_NEW, `/v1/orders/${order.orderId}/cancel`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ orderId: order.orderId, status: 'cancelled' });
  });

  it('an unnamed token is a client of its own: another unnamed open-platform token does not see its orders', async () => {
    const mine = await placeAs(TOKENS.openPlatform, 'k-1');
    expectProblem(await postAs(t, ACME_NEW, `/v1/orders/${mine.orderId}/cancel`), 404, 'order-not-found');
    expect((await postAs(t, TOKENS.openPlatform, `/v1/orders/${mine.orderId}/cancel`)).statusCode).toBe(200);
  });

  it('customer service cancels any client’s order, and the history says who placed it and who cancelled it', async () => {
    const order = await placeAs(ACME_OLD, 'k-1');
    expect((await postAs(t, TOKENS.service, `/v1/orders/${order.orderId}/cancel`)).statusCode).toBe(200);
    const history = await getAs(t, TOKENS.admin, `/v1/orders/${order.orderId}/history`);
    const actors = history
      .json<{ events: { type: string; metadata: { actor: { role: string; name?: string } } }[] }>()
      .events.map((e) => [e.type, e.metadata.actor.role, e.metadata.actor.name]);
    expect(actors).toContainEqual(['OrderPlaced', 'open-platform', 'acme']);
    expect(actors).toContainEqual(['OrderCancelled', 'customer-service', undefined]);
  });

  it('the same idempotency key from two clients places two orders (keys are the client’s own)', async () => {
    const a = await placeAs(ACME_OLD, 'same-key');
    const z = await placeAs(ZETA, 'same-key');
    expect(a.orderId).not.toBe(z.orderId);
  });
});

describe('the phone app acts on a payment by id, with its code as proof', () => {
  it('the code of another payment does not confirm this one: 422 wrong-code, nothing paid', async () => {
    const a = await placeAs(ACME_OLD, 'k-a');
    const z = await placeAs(ZETA, 'k-z');
    const codeOfZ = t.codeFor(z.paymentId);
    const wrong = codeOfZ === t.codeFor(a.paymentId) ? '000000' : codeOfZ;
    expectProblem(await t.confirm(a.paymentId, wrong), 422, 'wrong-code');
    expect(countOf(await t.allEvents(), 'PaymentConfirmed')).toBe(0);
  });

  it('the phone app cannot read or cancel orders (403), only customer service and the order’s client can', async () => {
    const order = await placeAs(ACME_OLD, 'k-1');
    await writesNothing(t, async () => {
      expectProblem(await getAs(t, TOKENS.phone, `/v1/orders/${order.orderId}`), 403, 'forbidden');
      expectProblem(await postAs(t, TOKENS.phone, `/v1/orders/${order.orderId}/cancel`), 403, 'forbidden');
    });
  });
});
