/**
 * The journal rules, event by event: each movement booked twice, recognition spread day by day to
 * the fen, a refund reversing what was not yet recognised.
 */
import { describe, expect, it } from 'vitest';
import { orderPlaced } from '../test/support/events.ts';
import { balancesOf, foldJournal, isBalanced, spreadOverDays, type JournalEntry } from './accounts.ts';
import type { OrderEvent } from './order/order.ts';
import type { PaymentEvent } from './payment/payment.ts';

const cny = (value: number) => ({ value, currency: 'CNY' as const });
const placed = orderPlaced({ orderId: 'o1', paymentId: 'p1', amount: cny(3800), placedAt: '2026-11-25T08:00:00.000Z' });
const succeeded = (at = '2026-11-25T08:00:03.000Z'): PaymentEvent => ({
  type: 'PaymentSucceeded',
  data: { paymentId: 'p1', orderId: 'o1', tradeNo: 'T1', notificationId: 'N1', source: 'notification', amount: cny(3800), paidAt: at, at },
});
const provisioned: OrderEvent = {
  type: 'OrderProvisioned',
  data: {
    orderId: 'o1',
    requestNo: 0,
    bossRef: 'B1',
    validFrom: '2026-11-25T08:00:03.000Z',
    validUntil: '2026-12-25T08:00:03.000Z',
    at: '2026-11-25T08:00:04.000Z',
  },
};
const refunded = (at: string, fen = 3800): PaymentEvent => ({
  type: 'PaymentRefunded',
  data: { paymentId: 'p1', orderId: 'o1', refundNo: 'R1', amount: cny(fen), at },
});
/** The platform reported `fen` for the 3800 the order costs. */
const flagged = (fen: number): PaymentEvent => ({
  type: 'PaymentFlagged',
  data: {
    paymentId: 'p1',
    orderId: 'o1',
    reason: 'amount_mismatch',
    notificationId: 'N1',
    tradeNo: 'T1',
    expected: cny(3800),
    reported: cny(fen),
    at: '2026-11-25T08:00:03.000Z',
  },
});
const journal = (...events: (OrderEvent | PaymentEvent)[]) => foldJournal(events.map((event, i) => ({ eventId: `e${i}`, event })));
const upTo = (entries: Iterable<JournalEntry>, day: string) => [...entries].filter((e) => e.day <= day);

describe('spreading an amount over the days of an entitlement', () => {
  it('30 days from 16:00 Beijing time cover 31 accounting days, the first and last in part; the shares add up to the fen', () => {
    const shares = spreadOverDays(3800, '2026-11-25T08:00:00.000Z', '2026-12-25T08:00:00.000Z');
    expect(shares).toHaveLength(31);
    expect(shares[0]).toEqual({ day: '2026-11-25', fen: 42 }); // 8 of 24 hours: a third of a day's 126.67
    expect(shares.at(-1)).toEqual({ day: '2026-12-25', fen: 84 }); // 16 hours: 84.44; the 20 fen left over go to the whole days (.67 each)
    expect(shares.reduce((s, x) => s + x.fen, 0)).toBe(3800);
  });

  it('never loses or adds a fen, whatever the amount and period', () => {
    for (const [fen, days] of [
      [1, 30],
      [7, 90],
      [4500, 90],
      [99_999, 365],
      [3800, 1],
    ] as const) {
      const shares = spreadOverDays(fen, '2026-01-31T23:59:59.000Z', new Date(Date.parse('2026-01-31T23:59:59.000Z') + days * 86_400_000).toISOString());
      expect(shares.reduce((s, x) => s + x.fen, 0)).toBe(fen);
    }
  });
});

describe('journal entries', () => {
  it('a charge: cash at the platform against deferred revenue, on the day we recorded it', () => {
    const { entries } = journal(placed, succeeded());
    expect([...entries.values()]).toEqual([
      expect.objectContaining({
        kind: 'charge',
        day: '2026-11-25',
        orderId: 'o1',
        paymentId: 'p1',
        lines: [
          { account: 'cash_at_platform', debit: 3800, credit: 0 },
          { account: 'deferred_revenue', debit: 0, credit: 3800 },
        ],
      }),
    ]);
  });

  it('provisioning schedules the recognition day by day; by the end all of it is revenue', () => {
    const { entries } = journal(placed, succeeded(), provisioned);
    const recognition = [...entries.values()].filter((e) => e.kind === 'recognition');
    expect(recognition).toHaveLength(31);
    expect(recognition.every(isBalanced)).toBe(true);
    const firstDay = balancesOf(upTo(entries.values(), '2026-11-25'));
    expect(firstDay).toMatchObject({ cash_at_platform: 3800, deferred_revenue: -(3800 - 42), revenue: -42 });
    expect(balancesOf(entries.values())).toMatchObject({ cash_at_platform: 3800, deferred_revenue: 0, revenue: -3800 });
  });

  it('a reprovision re-sends the same entitlement: no second schedule', () => {
    const again: OrderEvent = { type: 'OrderProvisioned', data: { ...provisioned.data, requestNo: 1, bossRef: 'B2', at: '2026-11-30T00:00:00.000Z' } };
    expect(journal(placed, succeeded(), provisioned, again).entries.size).toBe(journal(placed, succeeded(), provisioned).entries.size);
  });

  it('a refund ten days in reverses what was not yet recognised and takes back the later days', () => {
    const { entries } = journal(placed, succeeded(), provisioned, refunded('2026-12-05T02:00:00.000Z'));
    const recognisedBefore = [...entries.values()].filter((e) => e.kind === 'recognition').reduce((s, e) => s + (e.lines[0]?.debit ?? 0), 0);
    expect(
      [...entries.values()]
        .filter((e) => e.kind === 'recognition')
        .map((e) => e.day)
        .at(-1),
    ).toBe('2026-12-04');
    const refund = [...entries.values()].find((e) => e.kind === 'refund_paid');
    expect(refund?.lines).toEqual([
      { account: 'deferred_revenue', debit: 3800 - recognisedBefore, credit: 0 },
      { account: 'revenue', debit: recognisedBefore, credit: 0 },
      { account: 'cash_at_platform', debit: 0, credit: 3800 },
    ]);
    expect(balancesOf(entries.values())).toMatchObject({ cash_at_platform: 0, deferred_revenue: 0, revenue: 0 });
  });

  it('BOSS refuses: the refund is owed once it is requested (refunds payable), then paid', () => {
    const failed: PaymentEvent = {
      type: 'PaymentRefundRequested',
      data: { paymentId: 'p1', orderId: 'o1', refundNo: 'R1', amount: cny(3800), reason: 'provisioning_failed', at: '2026-11-25T08:00:05.000Z' },
    };
    const owed = journal(placed, succeeded(), failed);
    expect(balancesOf(owed.entries.values())).toMatchObject({ cash_at_platform: 3800, refunds_payable: -3800, deferred_revenue: 0 });
    const paid = journal(placed, succeeded(), failed, refunded('2026-11-25T08:00:06.000Z'));
    expect(balancesOf(paid.entries.values())).toEqual({
      cash_at_platform: 0,
      platform_receivable: 0,
      deferred_revenue: 0,
      refunds_payable: 0,
      suspense_flagged: 0,
      revenue: 0,
    });
    expect([...paid.entries.values()].every(isBalanced)).toBe(true);
  });

  it('flagged money accepted by an admin pays the order: out of the receivable and suspense, into cash and deferred revenue', () => {
    const accepted: PaymentEvent = {
      type: 'PaymentSucceeded',
      data: {
        paymentId: 'p1',
        orderId: 'o1',
        tradeNo: 'T1',
        notificationId: 'N1',
        source: 'review',
        amount: cny(3700),
        paidAt: '2026-11-25T09:00:00.000Z',
        at: '2026-11-25T09:00:00.000Z',
      },
    };
    const { entries } = journal(placed, flagged(3700), accepted);
    expect(balancesOf(entries.values())).toEqual({
      cash_at_platform: 3700,
      platform_receivable: 0,
      deferred_revenue: -3700,
      refunds_payable: 0,
      suspense_flagged: 0,
      revenue: 0,
    });
    expect([...entries.values()].map((e) => e.kind)).toEqual(['flagged', 'flagged_accepted']);
  });

  it('flagged money is a receivable against suspense, never revenue; refunded, both clear', () => {
    expect(balancesOf(journal(placed, flagged(3801)).entries.values())).toMatchObject({
      platform_receivable: 3801,
      suspense_flagged: -3801,
      revenue: 0,
      deferred_revenue: 0,
    });
    expect(balancesOf(journal(placed, flagged(3801), refunded('2026-11-26T00:00:00.000Z', 3801)).entries.values())).toMatchObject({
      platform_receivable: 0,
      suspense_flagged: 0,
    });
  });

  it('an unbalanced entry is seen as such', () => {
    expect(
      isBalanced({
        lines: [
          { account: 'cash_at_platform', debit: 3800, credit: 0 },
          { account: 'deferred_revenue', debit: 0, credit: 3799 },
        ],
      }),
    ).toBe(false);
    expect(isBalanced({ lines: [{ account: 'cash_at_platform', debit: 1, credit: 1 }] })).toBe(false);
  });
});
