/**
 * A log written by the service itself, through its API and its own process (tasks, simulators,
 * timers), with every path the ledger knows: provisioned and reprovisioned, refused by BOSS and
 * refunded, declined, expired, failed at the platform, flagged (amount mismatch) and refunded by an
 * admin, flagged and accepted by an admin, money arriving after a failure (returned at once), five
 * wrong codes after a resent code, a lost notification recovered by the query. And the means to copy
 * it, with changes, into a fresh store: the audit tests inject anomalies into copies of it.
 */
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import type { RecordedEvent } from '../../stores/event-store.ts';
import { EVENTS_SCHEMA } from '../../stores/sqlite/event-store.ts';
import { bossSim, caughtUp, codeFromSms, eventually, orderInStatus, placeAndConfirm, platformSim } from '../flow/support.ts';
import type { TestLedger } from '../support/ledger-app.ts';
import { notifyAbout, settledTrade } from '../support/platform-notifications.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';

export type Placed = { orderId: string; paymentId: string };
export type ServiceLog = {
  provisioned: Placed;
  refunded: Placed;
  declined: Placed;
  expired: Placed;
  failed: Placed;
  flagged: Placed;
  accepted: Placed;
  lateMoney: Placed;
  wrongCodes: Placed;
  queried: Placed;
  events: RecordedEvent[];
};

export const writeServiceLog = async (t: TestLedger): Promise<ServiceLog> => {
  const platform = platformSim(t);
  const boss = bossSim(t);
  const phone = bearer(TOKENS.phone);

  const expired = (await t.placeOrder({ smartcardId: 'card-expired', msisdn: '13700000001' }, 'log-expired')).json<Placed>();
  const provisioned = await placeAndConfirm(t, 'log-provisioned', { smartcardId: 'card-ok' });
  boss.setFaults({ refuseSmartcards: ['card-refused'] });
  const refunded = await placeAndConfirm(t, 'log-refunded', { smartcardId: 'card-refused', productId: 'kids-quarter' });
  const declined = (await t.placeOrder({ productId: 'opera-month', smartcardId: 'card-declined', msisdn: '13700000002' }, 'log-declined')).json<Placed>();
  await t.app.inject({ method: 'POST', url: `/v1/payments/${declined.paymentId}/decline`, headers: phone });
  platform.setFaults({ failMsisdnSuffixes: ['0004'] });
  const failed = await placeAndConfirm(t, 'log-failed', { msisdn: '13800130004', smartcardId: 'card-failed' });
  await orderInStatus(t, provisioned.orderId, 'provisioned');
  await orderInStatus(t, refunded.orderId, 'refunded');
  await orderInStatus(t, failed.orderId, 'payment_failed');

  // The platform takes another amount: an admin sends it back; another time, an admin accepts it.
  const admin = bearer(TOKENS.admin);
  /** Waits for the platform's other amount to flag the payment, then an admin decides. */
  const resolveFlag = async (p: Placed, decision: 'refund' | 'accept', reason: string) => {
    await eventually(
      t,
      async () => ((await t.service.ledger.store.readStream(`payment-${p.paymentId}`)).some((e) => e.type === 'PaymentFlagged') ? true : undefined),
      'the flag',
    );
    const r = await t.app.inject({ method: 'POST', url: `/v1/payments/${p.paymentId}/resolve`, headers: admin, payload: { decision, reason } });
    expect(r.statusCode, r.body).toBe(200);
  };
  platform.setFaults({ amountMismatchFen: 1 });
  const flagged = await placeAndConfirm(t, 'log-flagged', { productId: 'opera-month', smartcardId: 'card-flagged', msisdn: '13700000003' });
  await resolveFlag(flagged, 'refund', 'not what was ordered');
  await orderInStatus(t, flagged.orderId, 'refunded');
  platform.setFaults({ amountMismatchFen: -100 });
  const accepted = await placeAndConfirm(t, 'log-accepted', { smartcardId: 'card-accepted', msisdn: '13700000008' });
  await resolveFlag(accepted, 'accept', 'promotion price');
  await orderInStatus(t, accepted.orderId, 'provisioned');
  platform.setFaults({ amountMismatchFen: 0 });

  // Money after a failure: the platform said FAILED, then SUCCESS; it goes back at once.
  platform.setFaults({ dropNotifications: true });
  const lateMoney = await placeAndConfirm(t, 'log-late', { smartcardId: 'card-late', msisdn: '13700000007' });
  const lateTrade = await settledTrade(t, lateMoney.paymentId);
  expect((await notifyAbout(t, lateTrade, { notificationId: 'late-failed', status: 'FAILED', failureReason: 'RISK_CONTROL' })).statusCode).toBe(200);
  expect((await notifyAbout(t, lateTrade, { notificationId: 'late-success', status: 'SUCCESS', paidAt: t.clock.now.toISOString() })).statusCode).toBe(200);
  await orderInStatus(t, lateMoney.orderId, 'refunded', { tickSeconds: 1 });
  platform.setFaults({ dropNotifications: false });

  // A new code after a minute, then five wrong ones: the payment fails, the order is cancelled.
  const wrongCodes = (await t.placeOrder({ smartcardId: 'card-wrong', msisdn: '13700000005' }, 'log-wrong')).json<Placed>();
  await codeFromSms(t, '+8613700000005');
  t.clock.advance(61);
  expect((await t.app.inject({ method: 'POST', url: `/v1/payments/${wrongCodes.paymentId}/resend-code`, headers: phone })).statusCode).toBe(200);
  for (let i = 0; i < 5; i++) await t.confirm(wrongCodes.paymentId, '000000');
  await orderInStatus(t, wrongCodes.orderId, 'cancelled');

  // A lost notification: the query after PAYMENT_QUERY_AFTER_SECONDS finds the money.
  platform.setFaults({ dropNotifications: true });
  const queried = await placeAndConfirm(t, 'log-queried', { smartcardId: 'card-queried', msisdn: '13700000006' });
  await settledTrade(t, queried.paymentId);
  t.clock.advance(120);
  await orderInStatus(t, queried.orderId, 'provisioned', { tickSeconds: 1 });
  platform.setFaults({ dropNotifications: false });

  // Customer service re-sends the entitlement.
  expect((await t.app.inject({ method: 'POST', url: `/v1/orders/${provisioned.orderId}/reprovision`, headers: bearer(TOKENS.service) })).statusCode).toBe(202);
  await eventually(
    t,
    async () =>
      (await t.service.ledger.store.readStream(`order-${provisioned.orderId}`)).filter((e) => e.type === 'OrderProvisioned').length === 2 ? true : undefined,
    'the reprovision',
  );

  // The first order was never confirmed: it expires.
  t.clock.advance(900);
  await orderInStatus(t, expired.orderId, 'expired', { tickSeconds: 1 });
  await eventually(
    t,
    async () => ((await t.service.ledger.store.readStream(`payment-${expired.paymentId}`)).some((e) => e.type === 'PaymentVoided') ? true : undefined),
    'the payment to be voided',
  );
  await caughtUp(t);
  return { provisioned, refunded, declined, expired, failed, flagged, accepted, lateMoney, wrongCodes, queried, events: await t.allEvents() };
};

/** Writes the events, in this order, into a fresh embedded store file, as they are (revisions, ids, data). */
export const writeCopy = (file: string, events: readonly RecordedEvent[]): void => {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(EVENTS_SCHEMA);
    const insert = db.prepare('INSERT INTO events (seq, id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (const [i, e] of events.entries()) {
        insert.run(i + 1, e.id, e.streamId, e.revision, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), e.recordedAt.getTime());
      }
    })();
  } finally {
    db.close();
  }
};
