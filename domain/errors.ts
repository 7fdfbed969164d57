/**
 * Domain errors name the rule that refused a command. `kind` says what the refusal
 * means; http/problem.ts maps kinds to status codes in one place.
 */
export type ErrorKind = 'not_found' | 'conflict' | 'unprocessable' | 'rate_limited';

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    /** Stable, kebab-case: the problem type URI ends with it. */
    readonly code: string,
    message: string,
    /** Safe to show to the caller: never codes, secrets or whole phone numbers. */
    readonly details: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class OrderNotFound extends DomainError {
  constructor(orderId: string) {
    super('not_found', 'order-not-found', `order ${orderId} does not exist`, { orderId });
  }
}

/** Too many writers on one stream at once; the request changed nothing and can be retried. */
export class ConcurrentModification extends DomainError {
  constructor(streamId: string) {
    super('conflict', 'concurrent-modification', `${streamId.split('-')[0] ?? 'stream'} is being changed by other requests; retry`, { retryAfterSeconds: 1 });
  }
}

export class PaymentNotFound extends DomainError {
  constructor(paymentId: string) {
    super('not_found', 'payment-not-found', `payment ${paymentId} does not exist`, { paymentId });
  }
}

export class UnknownProduct extends DomainError {
  constructor(productId: string) {
    super('unprocessable', 'unknown-product', `product ${productId} is not in the catalog`, { productId });
  }
}

export class IdempotencyKeyReused extends DomainError {
  constructor() {
    super('unprocessable', 'idempotency-key-reused', 'this Idempotency-Key was already used with a different request body');
  }
}

/** The order can no longer be paid: cancelled, expired, failed, or its payment window closed. */
export class OrderNotPayable extends DomainError {
  constructor(orderId: string, status: string, reason?: string) {
    super(
      'conflict',
      'order-not-payable',
      `order ${orderId} is ${reason ?? status} and can no longer be paid`,
      reason === undefined ? { orderId, state: status } : { orderId, state: status, reason },
    );
  }
}

export class OrderNotCancellable extends DomainError {
  constructor(orderId: string, status: string) {
    super('conflict', 'order-not-cancellable', `order ${orderId} is ${status} and can no longer be cancelled`, { orderId, state: status });
  }
}

export class OrderNotProvisionable extends DomainError {
  constructor(orderId: string, status: string) {
    super('conflict', 'order-not-provisionable', `order ${orderId} is ${status}; only paid or provisioned orders are provisioned`, { orderId, state: status });
  }
}

export class OrderNotRefundable extends DomainError {
  constructor(orderId: string, status: string) {
    super('conflict', 'order-not-refundable', `order ${orderId} is ${status}; an order that has or may still get its goods is not refunded`, {
      orderId,
      state: status,
    });
  }
}

export class PaymentAlreadyConfirmed extends DomainError {
  constructor(paymentId: string, status: string) {
    super('conflict', 'payment-already-confirmed', `payment ${paymentId} is already confirmed (${status})`, { paymentId, state: status });
  }
}

/** The payment is closed (failed, declined, voided, flagged, refunded): nothing more to confirm or send. */
export class PaymentClosed extends DomainError {
  constructor(paymentId: string, status: string) {
    super('conflict', 'payment-closed', `payment ${paymentId} is ${status}`, { paymentId, state: status });
  }
}

export class CodeExpired extends DomainError {
  constructor(paymentId: string) {
    super('unprocessable', 'code-expired', 'the one-time code has expired; ask for a new one', { paymentId });
  }
}

/** Too soon after the last code (retryAfterSeconds says when), or no codes left at all (no retryAfterSeconds). */
export class ResendLimitReached extends DomainError {
  constructor(paymentId: string, retryAfterSeconds?: number) {
    super(
      'rate_limited',
      'resend-limit-reached',
      retryAfterSeconds === undefined ? 'no more codes can be sent for this payment' : `a new code can be sent in ${retryAfterSeconds} s`,
      retryAfterSeconds === undefined ? { paymentId } : { paymentId, retryAfterSeconds },
    );
  }
}

/** The payment platform reported something this payment cannot accept as is. */
export class PaymentNotSubmittable extends DomainError {
  constructor(paymentId: string, status: string) {
    super('conflict', 'payment-not-submittable', `payment ${paymentId} is ${status} and cannot be sent to the platform`, { paymentId, state: status });
  }
}

export class PaymentNotRefundable extends DomainError {
  constructor(paymentId: string, status: string) {
    super('conflict', 'payment-not-refundable', `payment ${paymentId} is ${status} and holds no money to refund`, { paymentId, state: status });
  }
}

/** Only a flagged payment waits for a person's decision. */
export class PaymentNotReviewable extends DomainError {
  constructor(paymentId: string, status: string) {
    super('conflict', 'payment-not-reviewable', `payment ${paymentId} is ${status}; only a flagged payment is reviewed`, { paymentId, state: status });
  }
}

/** The presented code is wrong; the attempt is recorded. At 0 attempts left the payment has failed. */
export class WrongCode extends DomainError {
  constructor(paymentId: string, attemptsLeft: number) {
    super(
      'unprocessable',
      'wrong-code',
      attemptsLeft > 0 ? `wrong code; ${attemptsLeft} attempts left` : 'wrong code; no attempts left, the payment has failed and the order is cancelled',
      { paymentId, attemptsLeft },
    );
  }
}

/** No order was ever placed for this subscriber: there is nothing of theirs to erase. */
export class SubscriberNotFound extends DomainError {
  constructor(subscriberId: string) {
    super('not_found', 'subscriber-not-found', `subscriber ${subscriberId} has no orders in the ledger`, { subscriberId });
  }
}

/** The number is still needed: an order's code SMS, trade or refund message is to come. */
export class SubscriberHasOrdersInFlight extends DomainError {
  constructor(subscriberId: string, orderIds: readonly string[]) {
    super(
      'conflict',
      'orders-in-flight',
      `subscriber ${subscriberId} has ${orderIds.length} order(s) still in flight (awaiting confirmation, payment pending, or paid and not yet provisioned); ` +
        'their messages and refunds need the phone number: erase once they are settled',
      { subscriberId, ordersInFlight: orderIds.length, orderIds: orderIds.join(',') },
    );
  }
}
