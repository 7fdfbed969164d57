/**
 * Payment commands and their rules. Pure: the caller says whether the presented
 * code matched (it holds the secret), and what time it is.
 * Returning [] means "already so": duplicates and retries are normal traffic.
 */
import type { Actor } from '../actor.ts';
import {
  CodeExpired,
  PaymentAlreadyConfirmed,
  PaymentClosed,
  PaymentNotFound,
  PaymentNotRefundable,
  PaymentNotReviewable,
  PaymentNotSubmittable,
  ResendLimitReached,
} from '../errors.ts';
import { isPast, refusePastDeadline } from '../deadline.ts';
import { sameMoney, type Money } from '../money.ts';
import { assertNever } from '../never.ts';
import type { StoredMsisdn } from '../personal-data.ts';
import {
  MAX_RESENDS,
  MAX_WRONG_CODES,
  RESEND_INTERVAL_SECONDS,
  refundNoFor,
  type FailureReason,
  type Payment,
  type PaymentEvent,
  type PaymentSucceeded,
  type RefundReason,
  type ResultSource,
  type ReviewDecision,
  type VoidReason,
} from './payment.ts';

export type RequestPayment = {
  type: 'RequestPayment';
  paymentId: string;
  orderId: string;
  amount: Money;
  msisdn: StoredMsisdn;
  subject: string;
  payBy: string;
  codeTtlSeconds: number;
  now: Date;
};
/** Whether the presented code is code number `seq` (a pure function: the caller holds the secret). */
export type PresentedCode = { matches(seq: number): boolean };
/**
 * `attemptId`: this confirmation attempt, made by the server for each request (never the caller's).
 * It is in the facts the attempt records, so two attempts at the same moment never pass for one
 * retried attempt: each wrong code costs a strike, and of concurrent right codes one confirms.
 */
export type ConfirmPayment = { type: 'ConfirmPayment'; paymentId: string; code: PresentedCode; attemptId: string; now: Date };
/**
 * `codeDelivered`: whether the SMS with code `seq` reached the gateway; if the current code was never
 * delivered, a new one may be asked for at once. About another code than the current one, it says nothing.
 */
export type ResendCode = { type: 'ResendCode'; paymentId: string; codeTtlSeconds: number; codeDelivered: { seq: number; delivered: boolean }; now: Date };
export type DeclinePayment = { type: 'DeclinePayment'; paymentId: string; now: Date };
export type RecordTradeCreated = { type: 'RecordTradeCreated'; paymentId: string; tradeNo: string; now: Date };
/** A result from the platform: a signed notification, or the answer to our query when a notification is late. */
export type RecordPlatformResult = {
  type: 'RecordPlatformResult';
  paymentId: string;
  source: ResultSource;
  notificationId: string;
  tradeNo: string;
  status: 'PROCESSING' | 'SUCCESS' | 'FAILED' | 'CLOSED';
  amount: Money;
  paidAt?: string;
  failureReason?: string;
  now: Date;
};
/** Trade creation never reached the platform, and its deadline has passed: the payment cannot go ahead. */
export type RecordTradeNotCreated = { type: 'RecordTradeNotCreated'; paymentId: string; detail: string; now: Date };
export type VoidPayment = { type: 'VoidPayment'; paymentId: string; reason: VoidReason; now: Date };
/** Money that moved for this payment goes back: its order closed first, or provisioning failed for good. */
export type RequestRefund = { type: 'RequestRefund'; paymentId: string; reason: Extract<RefundReason, 'order_closed' | 'provisioning_failed'>; now: Date };
/** An admin's decision on a flagged payment. */
export type ReviewPayment = {
  type: 'ReviewPayment';
  paymentId: string;
  decision: ReviewDecision;
  reason: string;
  by: Actor;
  now: Date;
};
export type RecordRefund = { type: 'RecordRefund'; paymentId: string; refundNo: string; amount: Money; now: Date };

export type PaymentCommand =
  | RequestPayment
  | ConfirmPayment
  | ResendCode
  | DeclinePayment
  | RecordTradeCreated
  | RecordPlatformResult
  | RecordTradeNotCreated
  | VoidPayment
  | RequestRefund
  | ReviewPayment
  | RecordRefund;

type Requested = Exclude<Payment, { status: 'none' }>;
type Awaiting = Extract<Payment, { status: 'awaiting_confirmation' }>;

export const decidePayment = (cmd: PaymentCommand, state: Payment): PaymentEvent[] => {
  if (cmd.type === 'RequestPayment') return request(cmd, state);
  if (state.status === 'none') throw new PaymentNotFound(cmd.paymentId);
  switch (cmd.type) {
    case 'ConfirmPayment':
      return confirm(cmd, state);
    case 'ResendCode':
      return resend(cmd, state);
    case 'DeclinePayment':
      return decline(cmd, state);
    case 'RecordTradeCreated':
      return recordTrade(cmd, state);
    case 'RecordPlatformResult':
      return recordResult(cmd, state);
    case 'RecordTradeNotCreated':
      return recordTradeNotCreated(cmd, state);
    case 'VoidPayment':
      return voidPayment(cmd, state);
    case 'RequestRefund':
      return requestRefund(cmd, state);
    case 'ReviewPayment':
      return review(cmd, state);
    case 'RecordRefund':
      return recordRefund(cmd, state);
    default:
      return assertNever(cmd);
  }
};

const iso = (d: Date): string => d.toISOString();
const addSeconds = (d: Date, s: number): string => iso(new Date(d.getTime() + s * 1000));

const request = (cmd: RequestPayment, state: Payment): PaymentEvent[] => {
  if (state.status !== 'none') return [];
  return [
    {
      type: 'PaymentRequested',
      data: {
        paymentId: cmd.paymentId,
        orderId: cmd.orderId,
        amount: cmd.amount,
        msisdn: cmd.msisdn,
        subject: cmd.subject,
        requestedAt: iso(cmd.now),
        payBy: cmd.payBy,
        codeSeq: 1,
        codeExpiresAt: addSeconds(cmd.now, cmd.codeTtlSeconds),
      },
    },
  ];
};

/** Refuses anything but a payment still waiting for its code, naming why. */
const requireAwaiting = (state: Requested): Awaiting => {
  switch (state.status) {
    case 'awaiting_confirmation':
      return state;
    case 'confirmed':
    case 'submitted':
    case 'succeeded':
      throw new PaymentAlreadyConfirmed(state.paymentId, state.status);
    case 'failed':
    case 'declined':
    case 'voided':
    case 'flagged':
    case 'refunding':
    case 'refunded':
      throw new PaymentClosed(state.paymentId, state.status);
    default:
      return assertNever(state);
  }
};

const confirm = (cmd: ConfirmPayment, current: Requested): PaymentEvent[] => {
  const state = requireAwaiting(current);
  refusePastDeadline(state.orderId, state.payBy, cmd.now);
  if (isPast(state.code.expiresAt, cmd.now)) throw new CodeExpired(state.paymentId);
  const at = iso(cmd.now);
  if (cmd.code.matches(state.code.seq)) {
    return [{ type: 'PaymentConfirmed', data: { paymentId: state.paymentId, orderId: state.orderId, attemptId: cmd.attemptId, at } }];
  }
  const wrongAttempts = state.code.wrongAttempts + 1;
  const attemptsLeft = MAX_WRONG_CODES - wrongAttempts;
  const rejected: PaymentEvent = {
    type: 'PaymentCodeRejected',
    data: { paymentId: state.paymentId, wrongAttempts, attemptsLeft, attemptId: cmd.attemptId, at },
  };
  if (attemptsLeft > 0) return [rejected];
  return [rejected, failed(state, 'too_many_wrong_codes', `${MAX_WRONG_CODES} wrong codes`, at)];
};

const resend = (cmd: ResendCode, current: Requested): PaymentEvent[] => {
  const state = requireAwaiting(current);
  refusePastDeadline(state.orderId, state.payBy, cmd.now);
  // No Retry-After here: no more codes will ever be sent for this payment.
  if (state.code.resends >= MAX_RESENDS) throw new ResendLimitReached(state.paymentId);
  // A code that never reached the gateway is no reason to wait.
  const undelivered = cmd.codeDelivered.seq === state.code.seq && !cmd.codeDelivered.delivered;
  const nextAllowed = undelivered ? 0 : Date.parse(state.code.sentAt) + RESEND_INTERVAL_SECONDS * 1000;
  if (cmd.now.getTime() < nextAllowed) throw new ResendLimitReached(state.paymentId, Math.ceil((nextAllowed - cmd.now.getTime()) / 1000));
  return [
    {
      type: 'PaymentCodeResent',
      data: { paymentId: state.paymentId, codeSeq: state.code.seq + 1, codeExpiresAt: addSeconds(cmd.now, cmd.codeTtlSeconds), at: iso(cmd.now) },
    },
  ];
};

const decline = (cmd: DeclinePayment, state: Requested): PaymentEvent[] => {
  if (state.status === 'declined') return [];
  const awaiting = requireAwaiting(state);
  return [{ type: 'PaymentDeclined', data: { paymentId: awaiting.paymentId, orderId: awaiting.orderId, at: iso(cmd.now) } }];
};

const recordTrade = (cmd: RecordTradeCreated, state: Requested): PaymentEvent[] => {
  switch (state.status) {
    case 'confirmed':
      return [{ type: 'PaymentSubmitted', data: { paymentId: state.paymentId, tradeNo: cmd.tradeNo, at: iso(cmd.now) } }];
    case 'submitted':
    case 'succeeded':
    case 'failed':
    case 'flagged':
    case 'refunding':
    case 'refunded':
      // The trade is known or its result already arrived: nothing to add.
      return [];
    case 'awaiting_confirmation':
    case 'declined':
    case 'voided':
      throw new PaymentNotSubmittable(state.paymentId, state.status);
    default:
      return assertNever(state);
  }
};

/**
 * The platform's word on the money. A SUCCESS pays only a confirmed payment with the same
 * amount. A SUCCESS of another amount is flagged for an admin's review. A SUCCESS for a payment
 * we never sent or already closed is flagged and refunded at once: money that moved is never
 * left without the goods or a refund. A result for a payment that already has its final result
 * is a duplicate or came out of order: ignored.
 */
const recordResult = (cmd: RecordPlatformResult, state: Requested): PaymentEvent[] => {
  const at = iso(cmd.now);
  const flag = (reason: 'amount_mismatch' | 'unexpected_success'): PaymentEvent => ({
    type: 'PaymentFlagged',
    data: {
      paymentId: state.paymentId,
      orderId: state.orderId,
      reason,
      notificationId: cmd.notificationId,
      tradeNo: cmd.tradeNo,
      expected: state.amount,
      reported: cmd.amount,
      at,
    },
  });
  switch (state.status) {
    case 'confirmed':
    case 'submitted':
      switch (cmd.status) {
        case 'PROCESSING':
          return [];
        case 'SUCCESS':
          if (!sameMoney(cmd.amount, state.amount)) return [flag('amount_mismatch')];
          // The platform's clock, recorded and shown; `at` (ours) is the time of record.
          return [
            succeeded(
              state,
              { tradeNo: cmd.tradeNo, notificationId: cmd.notificationId, source: cmd.source, amount: cmd.amount, paidAt: cmd.paidAt ?? at },
              at,
            ),
          ];
        case 'FAILED':
        case 'CLOSED':
          return [failed(state, cmd.status === 'FAILED' ? 'platform_failed' : 'platform_closed', cmd.failureReason ?? cmd.status, at)];
        default:
          return assertNever(cmd.status);
      }
    case 'awaiting_confirmation':
    case 'failed':
    case 'declined':
    case 'voided':
      return cmd.status === 'SUCCESS' ? [flag('unexpected_success'), refundRequested(state, cmd.amount, 'unexpected_success', at)] : [];
    case 'succeeded':
    case 'flagged':
    case 'refunding':
    case 'refunded':
      return [];
    default:
      return assertNever(state);
  }
};

const refundRequested = (state: Requested, amount: Money, reason: RefundReason, at: string): PaymentEvent => ({
  type: 'PaymentRefundRequested',
  data: { paymentId: state.paymentId, orderId: state.orderId, refundNo: refundNoFor(state.orderId), amount, reason, at },
});

const failed = (state: Requested, reason: FailureReason, detail: string, at: string): PaymentEvent => ({
  type: 'PaymentFailed',
  data: { paymentId: state.paymentId, orderId: state.orderId, reason, detail, at },
});

/** The trade that paid, as the platform reported it (or as an admin accepted it). */
type Trade = Omit<PaymentSucceeded['data'], 'paymentId' | 'orderId' | 'at'>;
const succeeded = (state: Requested, trade: Trade, at: string): PaymentEvent => ({
  type: 'PaymentSucceeded',
  data: { paymentId: state.paymentId, orderId: state.orderId, ...trade, at },
});

/** Only a payment whose trade was never created can end this way; anything else already has an answer. */
const recordTradeNotCreated = (cmd: RecordTradeNotCreated, state: Requested): PaymentEvent[] => {
  if (state.status !== 'confirmed') return [];
  return [failed(state, 'trade_not_created', cmd.detail, iso(cmd.now))];
};

/** The order closed before the payment reached the platform: the payment will never be sent. */
const voidPayment = (cmd: VoidPayment, state: Requested): PaymentEvent[] => {
  switch (state.status) {
    case 'awaiting_confirmation':
    case 'confirmed':
      return [{ type: 'PaymentVoided', data: { paymentId: state.paymentId, orderId: state.orderId, reason: cmd.reason, at: iso(cmd.now) } }];
    case 'voided':
    case 'declined':
    case 'failed':
      return [];
    case 'submitted':
    case 'succeeded':
    case 'flagged':
    case 'refunding':
    case 'refunded':
      throw new PaymentAlreadyConfirmed(state.paymentId, state.status);
    default:
      return assertNever(state);
  }
};

/** Returns what the platform took for this payment. Asked again while under way, or after: already so. */
const requestRefund = (cmd: RequestRefund, state: Requested): PaymentEvent[] => {
  switch (state.status) {
    case 'succeeded':
      return [refundRequested(state, state.charged, cmd.reason, iso(cmd.now))];
    case 'refunding':
    case 'refunded':
      return [];
    case 'awaiting_confirmation':
    case 'confirmed':
    case 'submitted':
    case 'failed':
    case 'declined':
    case 'voided':
    case 'flagged':
      throw new PaymentNotRefundable(state.paymentId, state.status);
    default:
      return assertNever(state);
  }
};

/**
 * An admin resolves a flagged payment: accept (the amount the platform took pays the order) or refund
 * it. Unexpected money is refunded as soon as it is flagged (the payment is refunding then), so what
 * waits here is an amount mismatch — or money that versions before automatic refunds only flagged.
 */
const review = (cmd: ReviewPayment, state: Requested): PaymentEvent[] => {
  if (state.status !== 'flagged') throw new PaymentNotReviewable(state.paymentId, state.status);
  const at = iso(cmd.now);
  const reviewed: PaymentEvent = {
    type: 'PaymentReviewed',
    data: { paymentId: state.paymentId, orderId: state.orderId, decision: cmd.decision, reason: cmd.reason, by: cmd.by, at },
  };
  switch (cmd.decision) {
    case 'accept':
      return [
        reviewed,
        succeeded(state, { tradeNo: state.tradeNo, notificationId: state.notificationId, source: 'review', amount: state.reported, paidAt: at }, at),
      ];
    case 'refund':
      return [reviewed, refundRequested(state, state.reported, 'review', at)];
    default:
      return assertNever(cmd.decision);
  }
};

const recordRefund = (cmd: RecordRefund, state: Requested): PaymentEvent[] => {
  if (state.status === 'refunded') return [];
  if (state.status !== 'succeeded' && state.status !== 'flagged' && state.status !== 'refunding') throw new PaymentNotRefundable(state.paymentId, state.status);
  return [
    {
      type: 'PaymentRefunded',
      data: { paymentId: state.paymentId, orderId: state.orderId, refundNo: cmd.refundNo, amount: cmd.amount, at: iso(cmd.now) },
    },
  ];
};
