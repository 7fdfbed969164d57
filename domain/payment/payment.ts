/**
 * The Payment: the subscriber's confirmation with a one-time code and the
 * platform's result. Stream `payment-<paymentId>`. The code itself is never in an
 * event: only its sequence number and expiry (the code is derived from a server
 * secret, see commands/one-time-code.ts).
 *
 *   awaiting_confirmation ─confirm─▶ confirmed ─trade─▶ submitted ─▶ succeeded ─▶ refunded
 *     │ 5 wrong codes ▶ failed        │                  ├─▶ failed        │
 *     ├─▶ declined                    └──────────────────┴─▶ flagged ──────┘
 *     └─▶ voided (the order closed first)
 */
import type { Money } from '../money.ts';
import { assertNever } from '../never.ts';

/** Wrong codes allowed per payment, across resends. */
export const MAX_WRONG_CODES = 5;
/** New codes the subscriber may ask for, and how long to wait between two. */
export const MAX_RESENDS = 3;
export const RESEND_INTERVAL_SECONDS = 60;

export type FailureReason = 'too_many_wrong_codes' | 'platform_failed' | 'platform_closed';
export type FlagReason = 'amount_mismatch' | 'unexpected_success';
export type VoidReason = 'order_cancelled' | 'order_expired' | 'order_not_payable';
export type ResultSource = 'notification' | 'query';

export type PaymentRequested = {
  type: 'PaymentRequested';
  data: {
    paymentId: string;
    orderId: string;
    amount: Money;
    msisdn: string;
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
  data: { paymentId: string; wrongAttempts: number; attemptsLeft: number; at: string };
};
export type PaymentCodeResent = {
  type: 'PaymentCodeResent';
  data: { paymentId: string; codeSeq: number; codeExpiresAt: string; at: string };
};
export type PaymentConfirmed = { type: 'PaymentConfirmed'; data: { paymentId: string; orderId: string; at: string } };
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
  | PaymentRefunded;

export type PaymentFacts = Omit<PaymentRequested['data'], 'codeSeq' | 'codeExpiresAt'>;
export type CodeState = { seq: number; expiresAt: string; sentAt: string; resends: number; wrongAttempts: number };
type Confirmed = { confirmedAt: string };

export type Payment =
  | { status: 'none' }
  | (PaymentFacts & { status: 'awaiting_confirmation'; code: CodeState })
  | (PaymentFacts & Confirmed & { status: 'confirmed' })
  | (PaymentFacts & Confirmed & { status: 'submitted'; tradeNo: string })
  | (PaymentFacts & { status: 'succeeded'; tradeNo: string; paidAt: string; notificationId: string })
  | (PaymentFacts & { status: 'failed'; reason: FailureReason; detail: string })
  | (PaymentFacts & { status: 'declined'; at: string })
  | (PaymentFacts & { status: 'voided'; reason: VoidReason })
  | (PaymentFacts & { status: 'flagged'; reason: FlagReason; notificationId: string; tradeNo: string; reported: Money })
  | (PaymentFacts & { status: 'refunded'; refundNo: string; tradeNo: string });

export type PaymentStatus = Payment['status'];

export const initialPayment: Payment = { status: 'none' };

export const paymentStream = (paymentId: string): string => `payment-${paymentId}`;

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
export const tradeNoOf = (state: Payment): string | undefined =>
  'tradeNo' in state ? state.tradeNo : undefined;

export const evolvePayment = (state: Payment, event: PaymentEvent): Payment => {
  switch (event.type) {
    case 'PaymentRequested': {
      if (state.status !== 'none') return state;
      const { codeSeq, codeExpiresAt, ...rest } = event.data;
      return {
        ...rest,
        status: 'awaiting_confirmation',
        code: { seq: codeSeq, expiresAt: codeExpiresAt, sentAt: event.data.requestedAt, resends: 0, wrongAttempts: 0 },
      };
    }
    case 'PaymentCodeRejected':
      return state.status === 'awaiting_confirmation'
        ? { ...state, code: { ...state.code, wrongAttempts: event.data.wrongAttempts } }
        : state;
    case 'PaymentCodeResent':
      return state.status === 'awaiting_confirmation'
        ? {
            ...state,
            code: { ...state.code, seq: event.data.codeSeq, expiresAt: event.data.codeExpiresAt, sentAt: event.data.at, resends: state.code.resends + 1 },
          }
        : state;
    case 'PaymentConfirmed':
      return state.status === 'awaiting_confirmation'
        ? { ...paymentFacts(state), status: 'confirmed', confirmedAt: event.data.at }
        : state;
    case 'PaymentDeclined':
      return state.status === 'none' ? state : { ...paymentFacts(state), status: 'declined', at: event.data.at };
    case 'PaymentSubmitted':
      return state.status === 'confirmed' ? { ...state, status: 'submitted', tradeNo: event.data.tradeNo } : state;
    case 'PaymentSucceeded':
      return state.status === 'none'
        ? state
        : { ...paymentFacts(state), status: 'succeeded', tradeNo: event.data.tradeNo, paidAt: event.data.paidAt, notificationId: event.data.notificationId };
    case 'PaymentFailed':
      return state.status === 'none' ? state : { ...paymentFacts(state), status: 'failed', reason: event.data.reason, detail: event.data.detail };
    case 'PaymentFlagged':
      return state.status === 'none'
        ? state
        : {
            ...paymentFacts(state),
            status: 'flagged',
            reason: event.data.reason,
            notificationId: event.data.notificationId,
            tradeNo: event.data.tradeNo,
            reported: event.data.reported,
          };
    case 'PaymentVoided':
      return state.status === 'none' ? state : { ...paymentFacts(state), status: 'voided', reason: event.data.reason };
    case 'PaymentRefunded':
      return state.status === 'none'
        ? state
        : { ...paymentFacts(state), status: 'refunded', refundNo: event.data.refundNo, tradeNo: tradeNoOf(state) ?? '' };
    default:
      return assertNever(event);
  }
};

export const foldPayment = (events: readonly PaymentEvent[]): Payment => events.reduce(evolvePayment, initialPayment);
