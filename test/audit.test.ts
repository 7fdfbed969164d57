/**
 * The auditor's replay (npm run audit): a log written by the service balances to the
 * fen; a log with a forged or missing step is caught and the culprit named.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditLog } from '../scripts/audit/audit-log.ts';
import type { NewEvent } from '../stores/event-store.ts';
import { caughtUp, orderInStatus, placeAndConfirm } from './flow/support.ts';
import { startTestLedger, type TestLedger } from './support/ledger-app.ts';

let t: TestLedger;
afterEach(async () => t.close());

const meta = { correlationId: 'forged', causationId: 'forged', actor: { role: 'test', client: 'forger' }, schemaVersion: 1 };
const forged = (type: string, data: Record<string, unknown>): NewEvent => ({ id: crypto.randomUUID(), type, data, metadata: meta });

describe('audit of a log the service wrote', () => {
  beforeEach(async () => {
    t = await startTestLedger({ RETRY_BASE_MS: '5' }, { process: true });
  });

  it('balances: charged, refunded and net to the fen, no violations', async () => {
    const boss = t.service.integrations.simulated.boss;
    boss?.setFaults({ refuseSmartcards: ['card-refuse'] });
    const ok = await placeAndConfirm(t, 'audit-ok');
    const refused = await placeAndConfirm(t, 'audit-refused', { smartcardId: 'card-refuse', productId: 'kids-quarter' });
    const declined = (await t.placeOrder({ productId: 'opera-month' }, 'audit-declined')).json<{ paymentId: string; orderId: string }>();
    await t.app.inject({ method: 'POST', url: `/v1/payments/${declined.paymentId}/decline`, headers: { authorization: 'Bearer test-phone-app-token' } });
    await orderInStatus(t, ok.orderId, 'provisioned');
    await orderInStatus(t, refused.orderId, 'refunded');
    await orderInStatus(t, declined.orderId, 'cancelled');
    await caughtUp(t);
    const report = await auditLog(t.service.ledger.store);
    expect(report.findings).toEqual([]);
    expect(report.money).toEqual({ charged: 3800 + 4500, refunded: 4500, underReview: 0, net: 3800 });
    expect(report.orders).toEqual({ provisioned: 1, refunded: 1, cancelled: 1 });
  });
});

// Without the background process, so nothing reacts to the forged events before the audit reads them.
describe('audit of a tampered log', () => {
  beforeEach(async () => {
    t = await startTestLedger();
  });

  it('a forged OrderPaid without a successful payment is named', async () => {
    const o = (await t.placeOrder({}, 'audit-forged')).json<{ orderId: string; paymentId: string }>();
    await t.service.ledger.store.append(
      `order-${o.orderId}`,
      [
        forged('OrderPaid', {
          orderId: o.orderId,
          paymentId: o.paymentId,
          tradeNo: 'T-forged',
          amount: { value: 3800, currency: 'CNY' },
          paidAt: '2026-11-25T08:00:01.000Z',
        }),
      ],
      'any',
    );
    const report = await auditLog(t.service.ledger.store);
    expect(report.first.map((f) => [f.finding.rule, f.finding.event?.streamId])).toEqual([['missing-cause', `order-${o.orderId}`]]);
    expect(report.findings.map((f) => f.message)).toContain(`order ${o.orderId} is paid but its payment is awaiting_confirmation`);
  });

  it('money taken for an order that never accepted it is named', async () => {
    const o = (await t.placeOrder({}, 'audit-no-order')).json<{ orderId: string; paymentId: string }>();
    await t.service.ledger.store.append(
      `payment-${o.paymentId}`,
      [
        forged('PaymentConfirmed', { paymentId: o.paymentId, orderId: o.orderId, at: '2026-11-25T08:00:01.000Z' }),
        forged('PaymentSubmitted', { paymentId: o.paymentId, tradeNo: 'T-1', at: '2026-11-25T08:00:02.000Z' }),
      ],
      'any',
    );
    const report = await auditLog(t.service.ledger.store);
    expect(report.first.map((f) => [f.finding.rule, f.finding.event?.streamId])).toEqual([['money-without-order', `payment-${o.paymentId}`]]);
  });

  it('an event type the deciders do not know is named with its stream and revision', async () => {
    await t.service.ledger.store.append('order-unknown', [forged('OrderTeleported', {})], 'no_stream');
    const report = await auditLog(t.service.ledger.store);
    expect(report.findings.map((f) => [f.rule, f.event?.streamId, f.event?.revision])).toEqual([['unknown-event-type', 'order-unknown', 0]]);
  });
});
