/**
 * Order commands and the rules that accept or refuse them.
 * Every command carries its own time (`now`) and ids; decide is pure.
 * Returning [] means "already so": commands are safe to repeat.
 */
import { IdempotencyKeyReused, OrderNotCancellable, OrderNotFound, OrderNotPayable, OrderNotProvisionable, OrderNotRefundable } from '../errors.ts';
import type { Money } from '../money.ts';
import { isPast, refusePastDeadline } from '../deadline.ts';
import { assertNever } from '../never.ts';
import type { Product } from '../catalog.ts';
import type { StoredMsisdn } from '../personal-data.ts';
import type { CancelReason, Order, OrderEvent } from './order.ts';

export type PlaceOrder = {
  type: 'PlaceOrder';
  orderId: string;
  paymentId: string;
  subscriberId: string;
  smartcardId: string;
  /** Sealed by the handler; the decider only carries it. */
  msisdn: StoredMsisdn;
  product: Product;
  client: string;
  requestHash: string;
  ttlSeconds: number;
  now: Date;
};
export type MarkPaymentPending = { type: 'MarkPaymentPending'; orderId: string; paymentId: string; now: Date };
/** `paidAt`: when we recorded the payment's success (ours); `platformPaidAt`: what the platform claims, kept for the record. */
export type MarkPaid = { type: 'MarkPaid'; orderId: string; paymentId: string; tradeNo: string; amount: Money; paidAt: string; platformPaidAt?: string };
export type MarkPaymentFailed = { type: 'MarkPaymentFailed'; orderId: string; reason: string; now: Date };
export type CancelOrder = { type: 'CancelOrder'; orderId: string; reason: CancelReason; now: Date };
export type ExpireOrder = { type: 'ExpireOrder'; orderId: string; now: Date };
export type MarkProvisioned = {
  type: 'MarkProvisioned';
  orderId: string;
  requestNo: number;
  bossRef: string;
  validFrom: string;
  validUntil: string;
  now: Date;
};
export type MarkProvisioningFailed = { type: 'MarkProvisioningFailed'; orderId: string; requestNo: number; reason: string; now: Date };
export type RequestReprovision = { type: 'RequestReprovision'; orderId: string; now: Date };
export type MarkRefunded = { type: 'MarkRefunded'; orderId: string; refundNo: string; amount: Money; now: Date };

export type OrderCommand =
  | PlaceOrder
  | MarkPaymentPending
  | MarkPaid
  | MarkPaymentFailed
  | CancelOrder
  | ExpireOrder
  | MarkProvisioned
  | MarkProvisioningFailed
  | RequestReprovision
  | MarkRefunded;

type Placed = Exclude<Order, { status: 'none' }>;

export const decideOrder = (cmd: OrderCommand, state: Order): OrderEvent[] => {
  if (cmd.type === 'PlaceOrder') return place(cmd, state);
  if (state.status === 'none') throw new OrderNotFound(cmd.orderId);
  switch (cmd.type) {
    case 'MarkPaymentPending':
      return markPaymentPending(cmd, state);
    case 'MarkPaid':
      return markPaid(cmd, state);
    case 'MarkPaymentFailed':
      return markPaymentFailed(cmd, state);
    case 'CancelOrder':
      return cancel(cmd, state);
    case 'ExpireOrder':
      return expire(cmd, state);
    case 'MarkProvisioned':
      return markProvisioned(cmd, state);
    case 'MarkProvisioningFailed':
      return markProvisioningFailed(cmd, state);
    case 'RequestReprovision':
      return requestReprovision(cmd, state);
    case 'MarkRefunded':
      return markRefunded(cmd, state);
    default:
      return assertNever(cmd);
  }
};

const iso = (d: Date): string => d.toISOString();

const place = (cmd: PlaceOrder, state: Order): OrderEvent[] => {
  if (state.status !== 'none') {
    // Same caller, same key: a retry. The same key with another body is refused.
    if (state.client === cmd.client && state.requestHash === cmd.requestHash) return [];
    throw new IdempotencyKeyReused();
  }
  return [
    {
      type: 'OrderPlaced',
      data: {
        orderId: cmd.orderId,
        paymentId: cmd.paymentId,
        subscriberId: cmd.subscriberId,
        smartcardId: cmd.smartcardId,
        msisdn: cmd.msisdn,
        product: {
          productId: cmd.product.productId,
          name: cmd.product.name,
          channels: cmd.product.channels,
          periodDays: cmd.product.periodDays,
        },
        amount: cmd.product.price,
        placedAt: iso(cmd.now),
        expiresAt: iso(new Date(cmd.now.getTime() + cmd.ttlSeconds * 1000)),
        client: cmd.client,
        requestHash: cmd.requestHash,
      },
    },
  ];
};

/**
 * Where an order stands with its money: waiting for the subscriber, waiting for the platform, paid
 * (the money arrived, whatever came after it), or closed unpaid.
 */
type PaymentStage = 'awaiting' | 'pending' | 'paid' | 'closed';
const paymentStage = {
  awaiting_confirmation: 'awaiting',
  payment_pending: 'pending',
  paid: 'paid',
  provisioned: 'paid',
  provisioning_failed: 'paid',
  refunded: 'paid',
  cancelled: 'closed',
  expired: 'closed',
  payment_failed: 'closed',
} as const satisfies Record<Placed['status'], PaymentStage>;

type PaymentStep = MarkPaymentPending | MarkPaid | MarkPaymentFailed;
type Verdict = 'record' | 'already' | 'refuse';
/**
 * What the payment's word does to an order at each stage: record its event, find it already so, or
 * refuse it (OrderNotPayable). A payment result may overtake the pending step, so a paid order has
 * nothing to add for a late one; a failure cannot unpay a paid order.
 */
const PAYMENT_STEPS = {
  MarkPaymentPending: { awaiting: 'record', pending: 'already', paid: 'already', closed: 'refuse' },
  MarkPaid: { awaiting: 'record', pending: 'record', paid: 'already', closed: 'refuse' },
  MarkPaymentFailed: { awaiting: 'record', pending: 'record', paid: 'refuse', closed: 'already' },
} as const satisfies Record<PaymentStep['type'], Record<PaymentStage, Verdict>>;

const byStage = (cmd: PaymentStep, state: Placed, record: () => OrderEvent[]): OrderEvent[] => {
  const verdict: Verdict = PAYMENT_STEPS[cmd.type][paymentStage[state.status]];
  switch (verdict) {
    case 'record':
      return record();
    case 'already':
      return [];
    case 'refuse':
      throw new OrderNotPayable(state.orderId, state.status);
    default:
      return assertNever(verdict);
  }
};

/** An order is paid by the one payment it was placed with. */
const refuseOtherPayment = (state: Placed, paymentId: string): void => {
  if (state.paymentId !== paymentId) throw new OrderNotPayable(state.orderId, state.status, 'paid by another payment');
};

const markPaymentPending = (cmd: MarkPaymentPending, state: Placed): OrderEvent[] => {
  refuseOtherPayment(state, cmd.paymentId);
  return byStage(cmd, state, () => {
    refusePastDeadline(state.orderId, state.expiresAt, cmd.now);
    return [{ type: 'OrderPaymentPending', data: { orderId: state.orderId, paymentId: cmd.paymentId, at: iso(cmd.now) } }];
  });
};

/**
 * A confirmed payment pays the order even if the pending step was not recorded yet
 * (the payment stream is the authority on money). A closed order refuses. That cannot
 * happen through this service (a trade is created only after the order accepted its
 * payment); if a platform ever reports such money, the process reactor logs the refusal
 * and `npm run audit` names the payment for a manual refund.
 */
const markPaid = (cmd: MarkPaid, state: Placed): OrderEvent[] => {
  refuseOtherPayment(state, cmd.paymentId);
  return byStage(cmd, state, () => [
    {
      type: 'OrderPaid',
      data: {
        orderId: state.orderId,
        paymentId: cmd.paymentId,
        tradeNo: cmd.tradeNo,
        amount: cmd.amount,
        paidAt: cmd.paidAt,
        ...(cmd.platformPaidAt !== undefined && { platformPaidAt: cmd.platformPaidAt }),
      },
    },
  ]);
};

const markPaymentFailed = (cmd: MarkPaymentFailed, state: Placed): OrderEvent[] =>
  byStage(cmd, state, () => [{ type: 'OrderPaymentFailed', data: { orderId: state.orderId, reason: cmd.reason, at: iso(cmd.now) } }]);

/**
 * Only an order still waiting for the subscriber's confirmation can be cancelled; once money may move,
 * it cannot. A cancel that comes from the payment (declined, too many wrong codes) finds an order that
 * already closed otherwise (expired meanwhile) already so.
 */
const cancel = (cmd: CancelOrder, state: Placed): OrderEvent[] => {
  if (state.status === 'cancelled') return [];
  if (cmd.reason !== 'customer' && (state.status === 'expired' || state.status === 'payment_failed')) return [];
  if (state.status !== 'awaiting_confirmation') throw new OrderNotCancellable(state.orderId, state.status);
  return [{ type: 'OrderCancelled', data: { orderId: state.orderId, reason: cmd.reason, at: iso(cmd.now) } }];
};

/** A timer's command: early or late, it is safe; only a due, unconfirmed order expires. */
const expire = (cmd: ExpireOrder, state: Placed): OrderEvent[] =>
  state.status === 'awaiting_confirmation' && isPast(state.expiresAt, cmd.now)
    ? [{ type: 'OrderExpired', data: { orderId: state.orderId, at: iso(cmd.now) } }]
    : [];

const markProvisioned = (cmd: MarkProvisioned, state: Placed): OrderEvent[] => {
  const event: OrderEvent = {
    type: 'OrderProvisioned',
    data: {
      orderId: state.orderId,
      requestNo: cmd.requestNo,
      bossRef: cmd.bossRef,
      validFrom: cmd.validFrom,
      validUntil: cmd.validUntil,
      at: iso(cmd.now),
    },
  };
  if (state.status === 'paid') return [event];
  if (state.status === 'provisioned') return cmd.requestNo > state.provisionedRequestNo ? [event] : [];
  throw new OrderNotProvisionable(state.orderId, state.status);
};

const markProvisioningFailed = (cmd: MarkProvisioningFailed, state: Placed): OrderEvent[] => {
  if (state.status === 'provisioning_failed') return [];
  // A failed reprovision leaves what BOSS already opened as it is.
  if (state.status === 'provisioned') return [];
  if (state.status !== 'paid') throw new OrderNotProvisionable(state.orderId, state.status);
  // A late refusal of an older request is overtaken by a reprovision still under way.
  if (cmd.requestNo < state.lastRequestNo) return [];
  return [{ type: 'OrderProvisioningFailed', data: { orderId: state.orderId, requestNo: cmd.requestNo, reason: cmd.reason, at: iso(cmd.now) } }];
};

const requestReprovision = (cmd: RequestReprovision, state: Placed): OrderEvent[] => {
  if (state.status !== 'paid' && state.status !== 'provisioned') throw new OrderNotProvisionable(state.orderId, state.status);
  return [{ type: 'OrderReprovisionRequested', data: { orderId: state.orderId, requestNo: state.lastRequestNo + 1, at: iso(cmd.now) } }];
};

/** Money comes back only for an order that did not get its goods: never for a paid or provisioned one. */
const markRefunded = (cmd: MarkRefunded, state: Placed): OrderEvent[] => {
  switch (state.status) {
    case 'refunded':
      return [];
    case 'provisioning_failed':
    case 'payment_pending':
    case 'cancelled':
    case 'expired':
    case 'payment_failed':
      return [{ type: 'OrderRefunded', data: { orderId: state.orderId, refundNo: cmd.refundNo, amount: cmd.amount, at: iso(cmd.now) } }];
    case 'awaiting_confirmation':
    case 'paid':
    case 'provisioned':
      throw new OrderNotRefundable(state.orderId, state.status);
    default:
      return assertNever(state);
  }
};
