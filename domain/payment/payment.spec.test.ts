/**
 * The Payment decider, transition by transition and refusal by refusal:
 * given these events, when this command, then these events (or this error).
 */
import { describe, expect, it } from 'vitest';
import { paymentRequested } from '../../test/support/events.ts';
import { byStatus } from '../../test/support/by-status.ts';
import { spec } from '../../test/support/given.ts';
import {
  CodeExpired,
  OrderNotPayable,
  PaymentAlreadyConfirmed,
  PaymentClosed,
  PaymentNotFound,
  PaymentNotRefundable,
  PaymentNotReviewable,
  PaymentNotSubmittable,
  ResendLimitReached,
} from '../errors.ts';
import { cny, type Money } from '../money.ts';
import { decidePayment, type PaymentCommand, type PresentedCode, type RecordPlatformResult } from './decide.ts';
import {
  evolvePayment,
  foldPayment,
  initialPayment,
  type FailureReason,
  type Payment,
  type PaymentEvent,
  type PaymentStatus,
  type RefundReason,
  type VoidReason,
} from './payment.ts';

const payment = spec({ decide: decidePayment, evolve: evolvePayment, initialState: initialPayment });

// --- fixtures -------------------------------------------------------------------------------

const paymentId = 'pay-1';
const orderId = 'ord-1';
const T0 = new Date('2025-03-01T08:00:00.000Z');
const PAY_BY_SECONDS = 900;
const CODE_TTL = 300;
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
const iso = (seconds: number): string => at(seconds).toISOString();
const amount = cny(3800);

const requestPayment = (payBySeconds = PAY_BY_SECONDS): PaymentCommand => ({
  type: 'RequestPayment',
  paymentId,
  orderId,
  amount,
  msisdn: '8613800138000',
  subject: '体育包 Sports (1 month)',
  payBy: iso(payBySeconds),
  codeTtlSeconds: CODE_TTL,
  now: T0,
});
/** A presented code, right or wrong whatever the sequence number. */
const code = (right: boolean): PresentedCode => ({ matches: () => right });
const confirmPayment = (right: boolean, seconds = 30, attemptId = 'a1'): PaymentCommand => ({
  type: 'ConfirmPayment',
  paymentId,
  code: code(right),
  attemptId,
  now: at(seconds),
});
const resendCode = (seconds: number, delivered = true, seq = 1): PaymentCommand => ({
  type: 'ResendCode',
  paymentId,
  codeTtlSeconds: CODE_TTL,
  codeDelivered: { seq, delivered },
  now: at(seconds),
});
const declinePayment = (seconds = 40): PaymentCommand => ({ type: 'DeclinePayment', paymentId, now: at(seconds) });
const recordTrade = (): PaymentCommand => ({ type: 'RecordTradeCreated', paymentId, tradeNo: 'trade-1', now: at(35) });
const platformResult = (status: RecordPlatformResult['status'], overrides: Partial<RecordPlatformResult> = {}): PaymentCommand => ({
  type: 'RecordPlatformResult',
  paymentId,
  source: 'notification',
  notificationId: 'n-1',
  tradeNo: 'trade-1',
  status,
  amount,
  paidAt: iso(50),
  now: at(55),
  ...overrides,
});
const voidPayment = (reason: VoidReason = 'order_expired'): PaymentCommand => ({ type: 'VoidPayment', paymentId, reason, now: at(60) });
const requestRefund = (reason: 'order_closed' | 'provisioning_failed' = 'order_closed'): PaymentCommand => ({
  type: 'RequestRefund',
  paymentId,
  reason,
  now: at(200),
});
const reviewPayment = (decision: 'accept' | 'refund'): PaymentCommand => ({
  type: 'ReviewPayment',
  paymentId,
  decision,
  reason: 'the platform charged a promotional price',
  by: { role: 'admin', client: 'admin/abc', name: 'li.na' },
  now: at(250),
});
const recordTradeNotCreated = (): PaymentCommand => ({ type: 'RecordTradeNotCreated', paymentId, detail: 'no trade', now: at(1100) });
const recordRefund = (): PaymentCommand => ({ type: 'RecordRefund', paymentId, refundNo: 'refund-1', amount, now: at(300) });

const requested = (payBySeconds = PAY_BY_SECONDS): PaymentEvent =>
  paymentRequested({
    paymentId,
    orderId,
    amount,
    subject: '体育包 Sports (1 month)',
    requestedAt: T0.toISOString(),
    payBy: iso(payBySeconds),
    codeSeq: 1,
    codeExpiresAt: iso(CODE_TTL),
  });
const rejected = (wrongAttempts: number, seconds = 30, attemptId = 'a1'): PaymentEvent => ({
  type: 'PaymentCodeRejected',
  data: { paymentId, wrongAttempts, attemptsLeft: 5 - wrongAttempts, attemptId, at: iso(seconds) },
});
const resent = (codeSeq: number, seconds: number): PaymentEvent => ({
  type: 'PaymentCodeResent',
  data: { paymentId, codeSeq, codeExpiresAt: iso(seconds + CODE_TTL), at: iso(seconds) },
});
const confirmed = (seconds = 30, attemptId = 'a1'): PaymentEvent => ({ type: 'PaymentConfirmed', data: { paymentId, orderId, attemptId, at: iso(seconds) } });
const declined: PaymentEvent = { type: 'PaymentDeclined', data: { paymentId, orderId, at: iso(40) } };
const submitted: PaymentEvent = { type: 'PaymentSubmitted', data: { paymentId, tradeNo: 'trade-1', at: iso(35) } };
const succeeded = (overrides: { paidAt?: string; source?: 'notification' | 'query' } = {}): PaymentEvent => ({
  type: 'PaymentSucceeded',
  data: {
    paymentId,
    orderId,
    tradeNo: 'trade-1',
    notificationId: 'n-1',
    source: overrides.source ?? 'notification',
    amount,
    paidAt: overrides.paidAt ?? iso(50),
    at: iso(55),
  },
});
const failed = (reason: FailureReason, detail: string, seconds = 55): PaymentEvent => ({
  type: 'PaymentFailed',
  data: { paymentId, orderId, reason, detail, at: iso(seconds) },
});
const flagged = (reason: 'amount_mismatch' | 'unexpected_success', reported: Money = amount): PaymentEvent => ({
  type: 'PaymentFlagged',
  data: { paymentId, orderId, reason, notificationId: 'n-1', tradeNo: 'trade-1', expected: amount, reported, at: iso(55) },
});
const voided = (reason: VoidReason = 'order_expired'): PaymentEvent => ({ type: 'PaymentVoided', data: { paymentId, orderId, reason, at: iso(60) } });
const refunded: PaymentEvent = { type: 'PaymentRefunded', data: { paymentId, orderId, refundNo: 'refund-1', amount, at: iso(300) } };
const refundRequested = (reason: RefundReason, refund: Money = amount, seconds = 200): PaymentEvent => ({
  type: 'PaymentRefundRequested',
  data: { paymentId, orderId, refundNo: `refund-${orderId}`, amount: refund, reason, at: iso(seconds) },
});
const reviewed = (decision: 'accept' | 'refund'): PaymentEvent => ({
  type: 'PaymentReviewed',
  data: {
    paymentId,
    orderId,
    decision,
    reason: 'the platform charged a promotional price',
    by: { role: 'admin', client: 'admin/abc', name: 'li.na' },
    at: iso(250),
  },
});

/** A history that reaches each status. */
type Requested = Exclude<PaymentStatus, 'none'>;
const reach: Record<Requested, PaymentEvent[]> = {
  awaiting_confirmation: [requested()],
  confirmed: [requested(), confirmed()],
  submitted: [requested(), confirmed(), submitted],
  succeeded: [requested(), confirmed(), submitted, succeeded()],
  failed: [requested(), confirmed(), submitted, failed('platform_failed', 'BALANCE_NOT_ENOUGH')],
  declined: [requested(), declined],
  voided: [requested(), voided()],
  flagged: [requested(), confirmed(), submitted, flagged('amount_mismatch', cny(1))],
  refunding: [requested(), confirmed(), submitted, succeeded(), refundRequested('order_closed')],
  refunded: [requested(), confirmed(), submitted, succeeded(), refunded],
};
const inStatus = byStatus(payment, reach, 'payment', { paymentId });
const { all: ALL, except } = inStatus;
const CLOSED = ['failed', 'declined', 'voided', 'flagged', 'refunding', 'refunded'] as const;
const ALREADY_CONFIRMED = ['confirmed', 'submitted', 'succeeded'] as const;

// --- specs ------------------------------------------------------------------------------------

describe('fixtures', () => {
  it.each(ALL)('the history for %s folds into that status', (status) => {
    expect(foldPayment(reach[status]).status).toBe(status);
  });
});

describe('RequestPayment', () => {
  it('requests a payment with code 1, valid codeTtlSeconds', () => {
    payment.given().when(requestPayment()).then(requested());
  });

  inStatus.addsNothing(ALL, requestPayment(), 'again on a %s payment adds nothing');
});

describe('commands on a payment that does not exist', () => {
  const commands: PaymentCommand[] = [
    confirmPayment(true),
    resendCode(60),
    declinePayment(),
    recordTrade(),
    platformResult('SUCCESS'),
    recordTradeNotCreated(),
    voidPayment(),
    requestRefund(),
    reviewPayment('accept'),
    recordRefund(),
  ];
  it.each(commands.map((c) => [c.type, c] as const))('%s → PaymentNotFound', (_type, command) => {
    payment.given().when(command).thenThrows(PaymentNotFound, { paymentId });
  });
});

describe('ConfirmPayment', () => {
  it('the right code → PaymentConfirmed', () => {
    payment.given(requested()).when(confirmPayment(true, 30)).then(confirmed(30));
  });

  it('wrong codes are counted, attemptsLeft 4, 3, 2, 1', () => {
    const history: PaymentEvent[] = [requested()];
    for (let n = 1; n <= 4; n++) {
      payment
        .given(...history)
        .when(confirmPayment(false, 30))
        .then(rejected(n));
      history.push(rejected(n));
    }
    expect(foldPayment(history)).toMatchObject({ status: 'awaiting_confirmation', code: { wrongAttempts: 4 } });
  });

  it('the 5th wrong code → PaymentCodeRejected (0 left) and PaymentFailed(too_many_wrong_codes)', () => {
    payment
      .given(requested(), rejected(1), rejected(2), rejected(3), rejected(4))
      .when(confirmPayment(false, 30))
      .then(rejected(5), failed('too_many_wrong_codes', '5 wrong codes', 30));
  });

  it('the right code after 4 wrong ones still confirms', () => {
    payment.given(requested(), rejected(1), rejected(2), rejected(3), rejected(4)).when(confirmPayment(true, 30)).then(confirmed(30));
  });

  it('wrong codes count across a resend', () => {
    payment
      .given(requested(), rejected(1), rejected(2), rejected(3), resent(2, 60), rejected(4, 70))
      .when(confirmPayment(false, 80))
      .then(rejected(5, 80), failed('too_many_wrong_codes', '5 wrong codes', 80));
  });

  it('the resent code is valid past the first code’s expiry', () => {
    payment
      .given(requested(), resent(2, 200))
      .when(confirmPayment(true, CODE_TTL + 10))
      .then(confirmed(CODE_TTL + 10));
  });

  it.each([CODE_TTL, CODE_TTL + 1])('at %i s the code has expired → CodeExpired', (seconds) => {
    payment.given(requested()).when(confirmPayment(true, seconds)).thenThrows(CodeExpired, { paymentId });
  });

  it('a wrong code after expiry → CodeExpired and is not counted', () => {
    payment.given(requested(), rejected(1), rejected(2), rejected(3), rejected(4)).when(confirmPayment(false, CODE_TTL)).thenThrows(CodeExpired);
  });

  it('past payBy, even with a live code → OrderNotPayable', () => {
    payment
      .given(requested(120))
      .when(confirmPayment(true, 120))
      .thenThrows(OrderNotPayable, { orderId, state: 'awaiting_confirmation', reason: 'past its payment deadline' });
  });

  it('past payBy and past code expiry → OrderNotPayable (the deadline is what matters)', () => {
    payment
      .given(requested())
      .when(confirmPayment(true, PAY_BY_SECONDS + 1))
      .thenThrows(OrderNotPayable);
  });

  inStatus.refuses(ALREADY_CONFIRMED, confirmPayment(true, 31), PaymentAlreadyConfirmed);
  inStatus.refuses(CLOSED, confirmPayment(true, 31), PaymentClosed);

  it('two attempts at the same moment record different facts (neither passes for a retry of the other)', () => {
    const one = payment
      .given(requested())
      .when(confirmPayment(false, 30, 'a1'))
      .then(rejected(1, 30, 'a1'));
    const two = payment
      .given(requested())
      .when(confirmPayment(false, 30, 'a2'))
      .then(rejected(1, 30, 'a2'));
    expect(one).not.toEqual(two);
    expect(
      payment
        .given(requested())
        .when(confirmPayment(true, 30, 'a3'))
        .then(confirmed(30, 'a3')),
    ).not.toEqual(one);
  });

  it('after 5 wrong codes even the right code → PaymentClosed', () => {
    payment
      .given(requested(), rejected(1), rejected(2), rejected(3), rejected(4), rejected(5), failed('too_many_wrong_codes', '5 wrong codes', 30))
      .when(confirmPayment(true, 31))
      .thenThrows(PaymentClosed, { state: 'failed' });
  });
});

describe('ResendCode', () => {
  it('too soon → ResendLimitReached, saying how many seconds to wait', () => {
    payment.given(requested()).when(resendCode(10)).thenThrows(ResendLimitReached, { paymentId, retryAfterSeconds: 50 });
  });

  it('rounds the wait up to whole seconds', () => {
    payment
      .given(requested())
      .when({ type: 'ResendCode', paymentId, codeTtlSeconds: CODE_TTL, codeDelivered: { seq: 1, delivered: true }, now: new Date(T0.getTime() + 59_001) })
      .thenThrows(ResendLimitReached, { retryAfterSeconds: 1 });
  });

  it('after 60 s → PaymentCodeResent with code 2 and a fresh expiry', () => {
    payment.given(requested()).when(resendCode(60)).then(resent(2, 60));
  });

  it('a code that never reached the gateway may be replaced at once', () => {
    payment.given(requested()).when(resendCode(5, false)).then(resent(2, 5));
  });

  it('an undelivered earlier code says nothing about the current one: the interval still holds', () => {
    payment
      .given(requested(), resent(2, 60))
      .when(resendCode(70, false, 1))
      .thenThrows(ResendLimitReached, { retryAfterSeconds: 50 });
  });

  it('the interval counts from the last code sent', () => {
    payment.given(requested(), resent(2, 60)).when(resendCode(100)).thenThrows(ResendLimitReached, { retryAfterSeconds: 20 });
    payment.given(requested(), resent(2, 60)).when(resendCode(120)).then(resent(3, 120));
  });

  it('the 4th resend → ResendLimitReached', () => {
    payment.given(requested(), resent(2, 60), resent(3, 120), resent(4, 180)).when(resendCode(400)).thenThrows(ResendLimitReached, { paymentId });
  });

  it('past payBy → OrderNotPayable', () => {
    payment.given(requested()).when(resendCode(PAY_BY_SECONDS)).thenThrows(OrderNotPayable, { orderId });
  });

  inStatus.refuses(ALREADY_CONFIRMED, resendCode(120), PaymentAlreadyConfirmed);
  inStatus.refuses(CLOSED, resendCode(120), PaymentClosed);
});

describe('DeclinePayment', () => {
  it('a payment awaiting confirmation → PaymentDeclined', () => {
    payment.given(requested()).when(declinePayment(40)).then(declined);
  });

  inStatus.addsNothing(['declined'], declinePayment(41));

  inStatus.refuses(ALREADY_CONFIRMED, declinePayment(), PaymentAlreadyConfirmed);
  inStatus.refuses(['failed', 'voided', 'flagged', 'refunded'], declinePayment(), PaymentClosed);
});

describe('RecordTradeCreated', () => {
  it('a confirmed payment → PaymentSubmitted with the trade number', () => {
    payment
      .given(...reach.confirmed)
      .when(recordTrade())
      .then(submitted);
  });

  inStatus.addsNothing(['submitted', 'succeeded', 'failed', 'flagged', 'refunding', 'refunded'], recordTrade());
  inStatus.refuses(['awaiting_confirmation', 'declined', 'voided'], recordTrade(), PaymentNotSubmittable);
});

describe('RecordPlatformResult', () => {
  describe.each(['confirmed', 'submitted'] as const)('on a %s payment', (status) => {
    it('SUCCESS with the same amount → PaymentSucceeded, paidAt from the notification', () => {
      payment
        .given(...reach[status])
        .when(platformResult('SUCCESS', { paidAt: iso(50) }))
        .then(succeeded({ paidAt: iso(50) }));
    });

    it('SUCCESS without paidAt → paidAt is the time it was recorded', () => {
      payment
        .given(...reach[status])
        .when(platformResult('SUCCESS', { paidAt: undefined }))
        .then(succeeded({ paidAt: iso(55) }));
    });

    it('SUCCESS from a query keeps its source', () => {
      payment
        .given(...reach[status])
        .when(platformResult('SUCCESS', { source: 'query' }))
        .then(succeeded({ source: 'query' }));
    });

    it('SUCCESS with another amount → PaymentFlagged(amount_mismatch), never PaymentSucceeded', () => {
      const events = payment
        .given(...reach[status])
        .when(platformResult('SUCCESS', { amount: cny(3700) }))
        .then(flagged('amount_mismatch', cny(3700)));
      expect(events.map((e) => e.type)).not.toContain('PaymentSucceeded');
    });

    it('FAILED → PaymentFailed(platform_failed) with the platform’s reason', () => {
      payment
        .given(...reach[status])
        .when(platformResult('FAILED', { failureReason: 'BALANCE_NOT_ENOUGH' }))
        .then(failed('platform_failed', 'BALANCE_NOT_ENOUGH'));
    });

    it('FAILED without a reason → detail FAILED', () => {
      payment
        .given(...reach[status])
        .when(platformResult('FAILED'))
        .then(failed('platform_failed', 'FAILED'));
    });

    it('CLOSED → PaymentFailed(platform_closed)', () => {
      payment
        .given(...reach[status])
        .when(platformResult('CLOSED'))
        .then(failed('platform_closed', 'CLOSED'));
    });

    it('PROCESSING adds nothing', () => {
      payment
        .given(...reach[status])
        .when(platformResult('PROCESSING'))
        .thenNothing();
    });
  });

  it('a duplicate SUCCESS adds nothing', () => {
    payment
      .given(...reach.succeeded)
      .when(platformResult('SUCCESS', { notificationId: 'n-2' }))
      .thenNothing();
  });

  it.each(['FAILED', 'CLOSED', 'PROCESSING'] as const)('%s after SUCCESS (out of order) adds nothing', (result) => {
    payment
      .given(...reach.succeeded)
      .when(platformResult(result))
      .thenNothing();
  });

  for (const result of ['SUCCESS', 'FAILED', 'CLOSED', 'PROCESSING'] as const) {
    inStatus.addsNothing(['flagged', 'refunding', 'refunded'], platformResult(result), `${result} on a %s payment adds nothing`);
  }

  it('SUCCESS paidAt far from our clock is recorded as the platform said; `at` is ours', () => {
    payment
      .given(...reach.submitted)
      .when(platformResult('SUCCESS', { paidAt: '2099-01-01T00:00:00.000Z' }))
      .then(succeeded({ paidAt: '2099-01-01T00:00:00.000Z' }));
  });

  it.each(['awaiting_confirmation', 'declined', 'voided', 'failed'] as const)(
    'SUCCESS on a %s payment → PaymentFlagged(unexpected_success) and the money is refunded at once',
    (status) => {
      payment
        .given(...reach[status])
        .when(platformResult('SUCCESS', { amount: cny(3700) }))
        .then(flagged('unexpected_success', cny(3700)), refundRequested('unexpected_success', cny(3700), 55));
    },
  );

  for (const result of ['FAILED', 'CLOSED', 'PROCESSING'] as const) {
    inStatus.addsNothing(['awaiting_confirmation', 'declined', 'voided', 'failed'], platformResult(result), `${result} on a %s payment adds nothing`);
  }
});

describe('VoidPayment', () => {
  inStatus.gives(['awaiting_confirmation', 'confirmed'], voidPayment('order_cancelled'), [voided('order_cancelled')]);

  inStatus.addsNothing(['voided', 'declined', 'failed'], voidPayment());
  inStatus.refuses(['submitted', 'succeeded', 'flagged', 'refunding', 'refunded'], voidPayment(), PaymentAlreadyConfirmed);
});

describe('RecordTradeNotCreated', () => {
  it('a confirmed payment whose trade never existed → PaymentFailed(trade_not_created)', () => {
    payment
      .given(...reach.confirmed)
      .when(recordTradeNotCreated())
      .then(failed('trade_not_created', 'no trade', 1100));
  });

  inStatus.addsNothing(except('confirmed'), recordTradeNotCreated(), 'a %s payment adds nothing (it has its answer)');
});

describe('RequestRefund', () => {
  it('a succeeded payment → PaymentRefundRequested for what was charged', () => {
    payment
      .given(...reach.succeeded)
      .when(requestRefund('provisioning_failed'))
      .then(refundRequested('provisioning_failed'));
  });

  it('an accepted mismatch refunds what the platform took, not the price', () => {
    payment
      .given(...reach.flagged, reviewed('accept'), {
        type: 'PaymentSucceeded',
        data: { paymentId, orderId, tradeNo: 'trade-1', notificationId: 'n-1', source: 'review', amount: cny(1), paidAt: iso(250), at: iso(250) },
      })
      .when(requestRefund('order_closed'))
      .then(refundRequested('order_closed', cny(1)));
  });

  inStatus.addsNothing(['refunding', 'refunded'], requestRefund());
  inStatus.refuses(except('succeeded', 'refunding', 'refunded'), requestRefund(), PaymentNotRefundable);
});

describe('ReviewPayment', () => {
  it('accept → PaymentReviewed and PaymentSucceeded for the amount the platform took (source review)', () => {
    const events = payment
      .given(...reach.flagged)
      .when(reviewPayment('accept'))
      .then(reviewed('accept'), {
        type: 'PaymentSucceeded',
        data: { paymentId, orderId, tradeNo: 'trade-1', notificationId: 'n-1', source: 'review', amount: cny(1), paidAt: iso(250), at: iso(250) },
      });
    expect(events[0]?.data).toMatchObject({ by: { name: 'li.na' } });
  });

  it('refund → PaymentReviewed and PaymentRefundRequested for the amount the platform took', () => {
    payment
      .given(...reach.flagged)
      .when(reviewPayment('refund'))
      .then(reviewed('refund'), refundRequested('review', cny(1), 250));
  });

  it('money flagged by a version before automatic refunds can be refunded by an admin', () => {
    payment
      .given(...reach.failed, flagged('unexpected_success'))
      .when(reviewPayment('refund'))
      .then(reviewed('refund'), refundRequested('review', amount, 250));
  });

  it('money flagged as unexpected is refunded automatically, never reviewed', () => {
    payment
      .given(...reach.failed, flagged('unexpected_success'), refundRequested('unexpected_success'))
      .when(reviewPayment('accept'))
      .thenThrows(PaymentNotReviewable);
  });

  inStatus.refuses(except('flagged'), reviewPayment('refund'), PaymentNotReviewable);
});

describe('RecordRefund', () => {
  inStatus.gives(['succeeded', 'flagged', 'refunding'], recordRefund(), [refunded]);
  inStatus.addsNothing(['refunded'], recordRefund());

  inStatus.refuses(except('succeeded', 'flagged', 'refunding', 'refunded'), recordRefund(), PaymentNotRefundable);
});

describe('evolve', () => {
  const facts = {
    paymentId,
    orderId,
    amount,
    msisdn: '8613800138000',
    subject: '体育包 Sports (1 month)',
    requestedAt: T0.toISOString(),
    payBy: iso(PAY_BY_SECONDS),
  };

  it('tracks the current code: sequence, expiry, when it was sent, resends and wrong attempts', () => {
    const expected: Payment = {
      ...facts,
      status: 'awaiting_confirmation',
      code: { seq: 2, expiresAt: iso(60 + CODE_TTL), sentAt: iso(60), resends: 1, wrongAttempts: 2 },
    };
    expect(foldPayment([requested(), rejected(1), resent(2, 60), rejected(2, 70)])).toEqual(expected);
  });

  it('folds the happy path into a succeeded payment', () => {
    const expected: Payment = { ...facts, status: 'succeeded', tradeNo: 'trade-1', paidAt: iso(50), notificationId: 'n-1', charged: amount };
    expect(foldPayment([requested(), rejected(1), resent(2, 60), confirmed(70), submitted, succeeded()])).toEqual(expected);
  });

  it('then a refund keeps the trade number', () => {
    const expected: Payment = { ...facts, status: 'refunded', refundNo: 'refund-1', tradeNo: 'trade-1' };
    expect(foldPayment(reach.refunded)).toEqual(expected);
  });

  it('a flagged payment keeps what the platform reported', () => {
    expect(foldPayment(reach.flagged)).toEqual({
      ...facts,
      status: 'flagged',
      reason: 'amount_mismatch',
      notificationId: 'n-1',
      tradeNo: 'trade-1',
      reported: cny(1),
    });
  });

  it('ignores an event that cannot apply instead of refusing it', () => {
    expect(foldPayment([requested(), requested(120)])).toEqual(foldPayment([requested()]));
    expect(foldPayment([...reach.declined, confirmed()]).status).toBe('declined');
    expect(foldPayment([...reach.succeeded, rejected(1)]).status).toBe('succeeded');
    expect(foldPayment([confirmed(), submitted]).status).toBe('none');
  });
});
