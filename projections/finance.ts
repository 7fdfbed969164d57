/**
 * The finance ledger: one entry per movement of money (a charge, a refund, money
 * flagged for review), for finance and auditors. Days are accounting days in China
 * Standard Time (UTC+8). Totals are summed from the entries when read, so there is no
 * counter document to keep consistent under replays.
 */
import { accountingDay } from '../domain/accounts.ts';
import { readPaymentEvent, refundReturnsFlaggedMoney } from '../domain/payment/payment.ts';
import type { Money } from '../domain/money.ts';
import { assertNever } from '../domain/never.ts';
import type { PaymentEvent } from '../domain/payment/payment.ts';
import type { RecordedEvent } from '../stores/event-store.ts';
import type { WriteOp } from '../stores/read-store.ts';
import { z } from 'zod';
import type { Projection, ReadView } from './projection.ts';

export const FINANCE_ENTRIES = 'finance_entries';
/** What the ledger remembers of each payment, to describe its entries. */
const FINANCE_PAYMENTS = 'finance_payments';

/** flagged_refund: flagged money going back; it was never a charge, so it is no refund of one either. */
export type EntryKind = 'charge' | 'refund' | 'flagged' | 'flagged_refund';
export const FINANCE_KINDS = ['charge', 'refund', 'flagged', 'flagged_refund'] as const satisfies readonly EntryKind[];

/** The accounting day (UTC+8) of an instant: one rule, shared with the journal. */
export { accountingDay };

export const financeProjection = (): Projection => ({
  name: 'finance',
  collections: [
    // A day's entries in time order (optionally of one kind): (day, at) reads that day only, never every refund ever.
    { name: FINANCE_ENTRIES, indexes: ['day', 'at', 'kind', 'paymentId'], compound: [['day', 'at']] },
    { name: FINANCE_PAYMENTS, indexes: [] },
  ],
  handle: async (event, view) => {
    const e = readPaymentEvent(event);
    return e ? onPayment(e, event, view) : [];
  },
});

/** What the ledger remembers of a payment, as stored: and, once a refund is decided, whose money it returns. */
const storedPayment = z.object({ orderId: z.string(), subject: z.string(), refundOf: z.enum(['charge', 'flagged']).optional() });
type StoredPayment = z.infer<typeof storedPayment>;

const onPayment = async (e: PaymentEvent, event: RecordedEvent, view: ReadView): Promise<WriteOp[]> => {
  const storedOf = async (): Promise<StoredPayment | undefined> => {
    const stored = await view.get(FINANCE_PAYMENTS, e.data.paymentId);
    return stored ? storedPayment.parse(stored) : undefined;
  };
  const entry = async (kind: EntryKind, at: string, amount: Money, ref: Record<string, string>): Promise<WriteOp[]> => {
    const payment = await storedOf();
    return [
      {
        kind: 'upsert',
        collection: FINANCE_ENTRIES,
        doc: {
          // The event's id: one entry per movement, however often the event is replayed.
          id: event.id,
          kind,
          day: accountingDay(at),
          at,
          paymentId: e.data.paymentId,
          orderId: payment?.orderId ?? '',
          subject: payment?.subject ?? '',
          // Money going back is negative: the day's net is the sum of charges and refunds.
          amount: kind === 'refund' || kind === 'flagged_refund' ? { value: -amount.value, currency: amount.currency } : amount,
          ...ref,
        },
      },
    ];
  };
  switch (e.type) {
    case 'PaymentRequested':
      return [{ kind: 'upsert', collection: FINANCE_PAYMENTS, doc: { id: e.data.paymentId, orderId: e.data.orderId, subject: e.data.subject } }];
    case 'PaymentSucceeded':
      // Our time of record dates the charge; the platform's paidAt never picks the accounting day.
      return entry('charge', e.data.at, e.data.amount, { tradeNo: e.data.tradeNo });
    case 'PaymentRefunded': {
      // A refund paid that nobody decided first (logs written before refunds were requested) returned a charge.
      const kind = (await storedOf())?.refundOf === 'flagged' ? 'flagged_refund' : 'refund';
      return entry(kind, e.data.at, e.data.amount, { refundNo: e.data.refundNo });
    }
    case 'PaymentRefundRequested': {
      const payment = await storedOf();
      if (!payment) return [];
      const refundOf = refundReturnsFlaggedMoney(e.data.reason) ? 'flagged' : 'charge';
      return [{ kind: 'upsert', collection: FINANCE_PAYMENTS, doc: { id: e.data.paymentId, ...payment, refundOf } }];
    }
    case 'PaymentFlagged':
      return entry('flagged', e.data.at, e.data.reported, { tradeNo: e.data.tradeNo, reason: e.data.reason });
    case 'PaymentCodeRejected':
    case 'PaymentCodeResent':
    case 'PaymentConfirmed':
    case 'PaymentDeclined':
    case 'PaymentSubmitted':
    case 'PaymentFailed':
    case 'PaymentVoided':
    case 'PaymentReviewed':
      return [];
    default:
      return assertNever(e);
  }
};
