/**
 * The Payment: the subscriber's confirmation with a one-time code and the
 * platform's result. Stream `payment-<paymentId>`. The code itself is never in an
 * event: only its sequence number and expiry (the code is derived from a server
 * secret, see commands/one-time-code.ts).
 *
 *   awaiting_confirmation ─confirm─▶ confirmed ─trade─▶ submitted ─▶ succeeded ─────────────┐
 *     │ 5 wrong codes ▶ failed        │                  ├─▶ failed        │ order closed      │
 *     ├─▶ declined                    │                  │                 ▼                   ▼
 *     └─▶ voided (the order closed)   └──────────────────┴─▶ flagged ─▶ refunding ─▶ refunded
 *
 * Money that moved always ends with goods or a refund: a SUCCESS for a payment we closed
 * (failed, declined, voided, or never confirmed) is flagged and refunded at once; an amount
 * mismatch waits for an admin's review (accept: it pays the order; refund).
 */
import type { Actor } from '../actor.ts';
import type { Money } from '../money.ts';
import { eventReader } from '../event-reader.ts';
import { assertNever } from '../never.ts';
import type { StoredMsisdn } from '../personal-data.ts';

/** Wrong codes allowed per payment, across resends. */
export const MAX_WRONG_CODES = 5;
/** New codes the subscriber may ask for, and how long to wait between two. */
export const MAX_RESENDS = 3;
export const RESEND_INTERVAL_SECONDS = 60;

export type FailureReason = 'too_many_wrong_codes' | 'platform_failed' | 'platform_closed' | 'trade_not_created';
export type FlagReason = 'amount_mismatch' | 'unexpected_success';
export type VoidReason = 'order_cancelled' | 'order_expired' | 'order_not_payable';
/** Where a result came from: the platform's notification, our query, or an admin's review of a flagged amount. */
export type ResultSource = 'notification' | 'query' | 'review';
/** Why money is being returned. */
export type RefundReason = 'unexpected_success' | 'order_closed' | 'provisioning_failed' | 'review';

/** Whose money a refund returns: flagged money (never a charge) for these reasons, charged money for the others. */
export const refundReturnsFlaggedMoney = (reason: RefundReason): boolean => {
  switch (reason) {
    case 'unexpected_success':
    case 'review':
      return true;
    case 'order_closed':
    case 'provisioning_failed':
      return false;
    default:
      return assertNever(reason);
  }
};
export type ReviewDecision = 'accept' | 'refund';

export type PaymentRequested = {
  type: 'PaymentRequested';
  data: {
    paymentId: string;
    orderId: string;
    amount: Money;
    /** The order's number, as the order holds it (sealed, or plain text in older events). */
    msisdn: StoredMsisdn;
    /** What the subscriber is paying for, as shown on the phone and sent to the platform. */
    subject: string;
    requestedAt: string;
    /** The order's deadline: no confirmation after it. */
    payBy: string;
    codeSeq: number;
    codeExpiresAt: string;
  };
};
export type PaymentCodeRejected = {
  type: 'PaymentCodeRejected';
  /** `attemptId`: the confirmation attempt (see ConfirmPayment); absent in events written before it was added. */
  data: { paymentId: string; wrongAttempts: number; attemptsLeft: number; attemptId?: string; at: string };
};
export type PaymentCodeResent = {
  type: 'PaymentCodeResent';
  data: { paymentId: string; codeSeq: number; codeExpiresAt: string; at: string };
};
export type PaymentConfirmed = { type: 'PaymentConfirmed'; data: { paymentId: string; orderId: string; attemptId?: string; at: string } };
export type PaymentDeclined = { type: 'PaymentDeclined'; data: { paymentId: string; orderId: string; at: string } };
export type PaymentSubmitted = { type: 'PaymentSubmitted'; data: { paymentId: string; tradeNo: string; at: string } };
export type PaymentSucceeded = {
  type: 'PaymentSucceeded';
  data: {
    paymentId: string;
    orderId: string;
    tradeNo: string;
    notificationId: string;
    source: ResultSource;
    amount: Money;
    paidAt: string;
    at: string;
  };
};
export type PaymentFailed = {
  type: 'PaymentFailed';
  data: { paymentId: string; orderId: string; reason: FailureReason; detail: string; at: string };
};
/** Money may have moved but cannot pay the order: kept for review and refund, never provisions. */
export type PaymentFlagged = {
  type: 'PaymentFlagged';
  data: {
    paymentId: string;
    orderId: string;
    reason: FlagReason;
    notificationId: string;
    tradeNo: string;
    expected: Money;
    reported: Money;
    at: string;
  };
};
export type PaymentVoided = { type: 'PaymentVoided'; data: { paymentId: string; orderId: string; reason: VoidReason; at: string } };
/** Money the platform holds for this payment is to be returned; the refund task carries it out. */
export type PaymentRefundRequested = {
  type: 'PaymentRefundRequested';
  data: { paymentId: string; orderId: string; refundNo: string; amount: Money; reason: RefundReason; at: string };
};
/** An admin resolved a flagged payment (an amount mismatch). `by` names who, for the history. */
export type PaymentReviewed = {
  type: 'PaymentReviewed';
  data: { paymentId: string; orderId: string; decision: ReviewDecision; reason: string; by: Actor; at: string };
};
export type PaymentRefunded = {
  type: 'PaymentRefunded';
  data: { paymentId: string; orderId: string; refundNo: string; amount: Money; at: string };
};

export type PaymentEvent =
  | PaymentRequested
  | PaymentCodeRejected
  | PaymentCodeResent
  | PaymentConfirmed
  | PaymentDeclined
  | PaymentSubmitted
  | PaymentSucceeded
  | PaymentFailed
  | PaymentFlagged
  | PaymentVoided
  | PaymentRefundRequested
  | PaymentReviewed
  | PaymentRefunded;

export type PaymentFacts = Omit<PaymentRequested['data'], 'codeSeq' | 'codeExpiresAt'>;
export type CodeState = { seq: number; expiresAt: string; sentAt: string; resends: number; wrongAttempts: number };
type Confirmed = { confirmedAt: string };

export type Payment =
  | { status: 'none' }
  | (PaymentFacts & { status: 'awaiting_confirmation'; code: CodeState })
  | (PaymentFacts & Confirmed & { status: 'confirmed' })
  | (PaymentFacts & Confirmed & { status: 'submitted'; tradeNo: string })
  /** `charged`: what the platform took; differs from `amount` only when an admin accepted a mismatch. */
  | (PaymentFacts & { status: 'succeeded'; tradeNo: string; paidAt: string; notificationId: string; charged: Money })
  | (PaymentFacts & { status: 'failed'; reason: FailureReason; detail: string })
  | (PaymentFacts & { status: 'declined'; at: string })
  | (PaymentFacts & { status: 'voided'; reason: VoidReason })
  | (PaymentFacts & { status: 'flagged'; reason: FlagReason; notificationId: string; tradeNo: string; reported: Money })
  | (PaymentFacts & { status: 'refunding'; refundNo: string; tradeNo: string; refund: Money; reason: RefundReason })
  | (PaymentFacts & { status: 'refunded'; refundNo: string; tradeNo: string });

export type PaymentStatus = Payment['status'];

export const initialPayment: Payment = { status: 'none' };

export const paymentStream = (paymentId: string): string => `payment-${paymentId}`;

/** One refund per payment (and so per order): its number is the platform's idempotency key. */
export const refundNoFor = (orderId: string): string => `refund-${orderId}`;

export const paymentFacts = (state: Exclude<Payment, { status: 'none' }>): PaymentFacts => ({
  paymentId: state.paymentId,
  orderId: state.orderId,
  amount: state.amount,
  msisdn: state.msisdn,
  subject: state.subject,
  requestedAt: state.requestedAt,
  payBy: state.payBy,
});

/** The trade number, once the platform has given one. */
export const tradeNoOf = (state: Payment): string | undefined => ('tradeNo' in state ? state.tradeNo : undefined);

/** A requested payment's state apart from its facts, in each status. */
type Beyond<P> = P extends unknown ? Omit<P, keyof PaymentFacts> : never;

/** The payment moved to `next`, its facts kept; an event for a payment never requested changes nothing. */
const moved = (state: Payment, next: Beyond<Exclude<Payment, { status: 'none' }>>): Payment =>
  state.status === 'none' ? state : { ...paymentFacts(state), ...next };

/**
 * Until when a code can confirm: its own expiry, but never past the payment's deadline (after it no
 * code confirms). What the phone is told and what the SMS says follow this; the event keeps the TTL.
 */
export const codeUsableUntil = (codeExpiresAt: string, payBy: string | undefined): string =>
  payBy !== undefined && Date.parse(payBy) < Date.parse(codeExpiresAt) ? payBy : codeExpiresAt;

export const evolvePayment = (state: Payment, event: PaymentEvent): Payment => {
  switch (event.type) {
    case 'PaymentRequested': {
      if (state.status !== 'none') return state;
      const { codeSeq, codeExpiresAt, ...rest } = event.data;
      return {
        ...rest,
        status: 'awaiting_confirmation',
        code: { seq: codeSeq, expiresAt: codeUsableUntil(codeExpiresAt, event.data.payBy), sentAt: event.data.requestedAt, resends: 0, wrongAttempts: 0 },
      };
    }
    case 'PaymentCodeRejected':
      return state.status === 'awaiting_confirmation' ? { ...state, code: { ...state.code, wrongAttempts: event.data.wrongAttempts } } : state;
    case 'PaymentCodeResent':
      return state.status === 'awaiting_confirmation'
        ? {
            ...state,
            code: {
              ...state.code,
              seq: event.data.codeSeq,
              expiresAt: codeUsableUntil(event.data.codeExpiresAt, state.payBy),
              sentAt: event.data.at,
              resends: state.code.resends + 1,
            },
          }
        : state;
    case 'PaymentConfirmed':
      return state.status === 'awaiting_confirmation' ? { ...paymentFacts(state), status: 'confirmed', confirmedAt: event.data.at } : state;
    case 'PaymentDeclined':
      return moved(state, { status: 'declined', at: event.data.at });
    case 'PaymentSubmitted':
      return state.status === 'confirmed' ? { ...state, status: 'submitted', tradeNo: event.data.tradeNo } : state;
    case 'PaymentSucceeded':
      return moved(state, {
        status: 'succeeded',
        tradeNo: event.data.tradeNo,
        paidAt: event.data.paidAt,
        notificationId: event.data.notificationId,
        charged: event.data.amount,
      });
    case 'PaymentFailed':
      return moved(state, { status: 'failed', reason: event.data.reason, detail: event.data.detail });
    case 'PaymentFlagged':
      return moved(state, {
        status: 'flagged',
        reason: event.data.reason,
        notificationId: event.data.notificationId,
        tradeNo: event.data.tradeNo,
        reported: event.data.reported,
      });
    case 'PaymentVoided':
      return moved(state, { status: 'voided', reason: event.data.reason });
    case 'PaymentRefundRequested':
      return state.status === 'refunded'
        ? state
        : moved(state, {
            status: 'refunding',
            refundNo: event.data.refundNo,
            tradeNo: tradeNoOf(state) ?? '',
            refund: event.data.amount,
            reason: event.data.reason,
          });
    case 'PaymentReviewed':
      return state;
    case 'PaymentRefunded':
      return moved(state, { status: 'refunded', refundNo: event.data.refundNo, tradeNo: tradeNoOf(state) ?? '' });
    default:
      return assertNever(event);
  }
};

/** A stored event as a payment event, or undefined for another type. */
export const readPaymentEvent = eventReader<PaymentEvent>({
  PaymentRequested: true,
  PaymentCodeRejected: true,
  PaymentCodeResent: true,
  PaymentConfirmed: true,
  PaymentDeclined: true,
  PaymentSubmitted: true,
  PaymentSucceeded: true,
  PaymentFailed: true,
  PaymentFlagged: true,
  PaymentVoided: true,
  PaymentRefundRequested: true,
  PaymentReviewed: true,
  PaymentRefunded: true,
});

export const foldPayment = (events: readonly PaymentEvent[]): Payment => events.reduce(evolvePayment, initialPayment);
