/**
 * GET right after POST: the read model may lag the event store by a moment. An order
 * that exists is never reported as missing: the route waits for the projection, or
 * says "not yet visible, retry" (503) when it cannot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';
import { expectProblem } from './support.ts';

let t: TestLedger;
afterEach(async () => t.close());

const get = (url: string, token: string = TOKENS.service) => t.app.inject({ method: 'GET', url, headers: bearer(token) });

describe('reading what was just written', () => {
  it('with the projections running: the order and its payment are there right after the 201', async () => {
    t = await startTestLedger({}, { process: true });
    const placed = await t.placeOrder({}, 'ryw-1');
    expect(placed.statusCode).toBe(201);
    const { orderId, paymentId } = placed.json<{ orderId: string; paymentId: string }>();
    const order = await get(`/v1/orders/${orderId}`, TOKENS.openPlatform);
    expect(order.statusCode).toBe(200);
    expect(order.json()).toMatchObject({ orderId, status: 'awaiting_confirmation', msisdn: '138****8000' });
    const payment = await get(`/v1/payments/${paymentId}`, TOKENS.phone);
    expect(payment.statusCode).toBe(200);
    expect(payment.json()).toMatchObject({ paymentId, orderId, attemptsLeft: 5, amount: { value: 3800, currency: 'CNY' } });
  });

  it('with no projection caught up: 503 not-yet-visible with Retry-After, never a 404 for an order that exists', async () => {
    t = await startTestLedger();
    const { orderId, paymentId } = (await t.placeOrder({}, 'ryw-2')).json<{ orderId: string; paymentId: string }>();
    const order = await get(`/v1/orders/${orderId}`);
    expectProblem(order, 503, 'not-yet-visible');
    expect(order.headers['retry-after']).toBe('1');
    expectProblem(await get(`/v1/payments/${paymentId}`, TOKENS.phone), 503, 'not-yet-visible');
  });

  it('an order or payment that does not exist is a 404', async () => {
    t = await startTestLedger({}, { process: true });
    expectProblem(await get('/v1/orders/00000000-0000-4000-8000-000000000000'), 404, 'order-not-found');
    expectProblem(await get('/v1/payments/00000000-0000-4000-8000-000000000000', TOKENS.phone), 404, 'payment-not-found');
  });
});
