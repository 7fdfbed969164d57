/** What each event adds to the business counters: given an event, then these counts. */
import { describe, expect, it } from 'vitest';
import { countsOf, taskKindOf, type Count } from '../../app/business-counts.ts';

const cny = (value: number) => ({ value, currency: 'CNY' });
const at = '2026-11-25T08:00:00.000Z';

const cases: Array<[string, { type: string; data: Record<string, unknown> }, Count[]]> = [
  ['an order placed', { type: 'OrderPlaced', data: { orderId: 'o' } }, [{ metric: 'orders', outcome: 'placed' }]],
  ['the first provisioning', { type: 'OrderProvisioned', data: { orderId: 'o', requestNo: 0, at } }, [{ metric: 'orders', outcome: 'provisioned' }]],
  [
    'a reprovision by customer service',
    { type: 'OrderProvisioned', data: { orderId: 'o', requestNo: 2, at } },
    [{ metric: 'orders', outcome: 'reprovisioned' }],
  ],
  ['an order waiting for the platform (no outcome yet)', { type: 'OrderPaymentPending', data: { orderId: 'o', paymentId: 'p', at } }, []],
  [
    'a payment succeeded: counted, and its fen charged',
    { type: 'PaymentSucceeded', data: { paymentId: 'p', amount: cny(3800), paidAt: at, at } },
    [
      { metric: 'payments', outcome: 'succeeded', reason: 'none' },
      { metric: 'charged_fen', currency: 'CNY', fen: 3800 },
    ],
  ],
  [
    'a payment failed at the platform',
    { type: 'PaymentFailed', data: { paymentId: 'p', reason: 'platform_failed', at } },
    [{ metric: 'payments', outcome: 'failed', reason: 'platform_failed' }],
  ],
  [
    'an amount mismatch: flagged with the amount the platform reported',
    { type: 'PaymentFlagged', data: { paymentId: 'p', reason: 'amount_mismatch', expected: cny(3800), reported: cny(1), at } },
    [
      { metric: 'payments', outcome: 'flagged', reason: 'amount_mismatch' },
      { metric: 'flagged_fen', currency: 'CNY', fen: 1 },
    ],
  ],
  [
    'a refund',
    { type: 'PaymentRefunded', data: { paymentId: 'p', amount: cny(3800), at } },
    [
      { metric: 'payments', outcome: 'refunded', reason: 'none' },
      { metric: 'refunded_fen', currency: 'CNY', fen: 3800 },
    ],
  ],
  ['a wrong code (no outcome yet)', { type: 'PaymentCodeRejected', data: { paymentId: 'p', wrongAttempts: 1, attemptsLeft: 4, at } }, []],
  [
    'a BOSS task given up (written before reasons were recorded)',
    { type: 'TaskAbandoned', data: { taskId: 'boss:o:0', attempt: 3, error: 'x' } },
    [{ metric: 'tasks_abandoned', kind: 'boss', reason: 'exhausted' }],
  ],
  [
    'a BOSS refusal',
    { type: 'TaskAbandoned', data: { taskId: 'boss:o:0', attempt: 1, error: 'x', reason: 'refused' } },
    [{ metric: 'tasks_abandoned', kind: 'boss', reason: 'refused' }],
  ],
  [
    'money to return',
    { type: 'PaymentRefundRequested', data: { paymentId: 'p', orderId: 'o', refundNo: 'r', amount: cny(3800), reason: 'order_closed', at } },
    [{ metric: 'payments', outcome: 'refund_requested', reason: 'order_closed' }],
  ],
  ['a task retried (not given up)', { type: 'TaskAttemptFailed', data: { taskId: 'boss:o:0', attempt: 1, error: 'x', retryAt: at } }, []],
  ['an event of no counted kind', { type: 'SomethingElse', data: {} }, []],
];

describe('countsOf', () => {
  it.each(cases)('%s', (_name, event, counts) => {
    expect(countsOf(event)).toEqual(counts);
  });

  it('the kind of a task comes from its id; an id of no known kind is `other`', () => {
    expect(taskKindOf('sms:p:code:1')).toBe('sms');
    expect(taskKindOf('callback:o:paid')).toBe('callback');
    expect(taskKindOf('weird')).toBe('other');
    expect(taskKindOf('nosuchkind:1')).toBe('other');
  });
});
