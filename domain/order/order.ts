/**
 * The Order: what the subscriber bought and how far it got.
 * Stream `order-<orderId>`. Times are ISO 8601 UTC strings, money is fen.
 *
 *   awaiting_confirmation ─▶ payment_pending ─▶ paid ─▶ provisioned
 *        │                        │              └──▶ provisioning_failed ─▶ refunded
 *        ├─▶ cancelled / expired   └─▶ payment_failed
 *        └─▶ payment_failed
 *
 * Money the platform took that did not buy the goods is returned, whatever the order's state
 * short of paid: payment_pending (an admin refunded a mismatched amount), cancelled, expired and
 * payment_failed (the platform charged after we closed the payment) also end refunded.
 */
import type { Money } from '../money.ts';
import { eventReader } from '../event-reader.ts';
import { assertNever } from '../never.ts';
import type { StoredMsisdn } from '../personal-data.ts';

export type ProductSnapshot = {
  productId: string;
  name: string;
  channels: readonly string[];
  periodDays: number;
};

export type CancelReason = 'customer' | 'declined' | 'too_many_wrong_codes';

export type OrderPlaced = {
  type: 'OrderPlaced';
  data: {
    orderId: string;
    paymentId: string;
    subscriberId: string;
    smartcardId: string;
    /**
     * The subscriber's phone (E.164 without '+', e.g. 8613800138000), sealed with the subscriber's key;
     * plain text in events written before sealing (domain/personal-data.ts). Opaque here.
     */
    msisdn: StoredMsisdn;
    product: ProductSnapshot;
    amount: Money;
    placedAt: string;
    expiresAt: string;
    /** Who placed it and a digest of the request, so a retry with the same Idempotency-Key is recognised. */
    client: string;
    requestHash: string;
  };
};
export type OrderPaymentPending = { type: 'OrderPaymentPending'; data: { orderId: string; paymentId: string; at: string } };
/**
 * `paidAt` is our time of record (when we recorded the platform's result; in logs written before
 * partner clocks were distrusted, it may be the platform's). `platformPaidAt` is the platform's own
 * claim, recorded and shown, never used to schedule or to date anything.
 */
export type OrderPaid = {
  type: 'OrderPaid';
  data: { orderId: string; paymentId: string; tradeNo: string; amount: Money; paidAt: string; platformPaidAt?: string };
};
export type OrderPaymentFailed = { type: 'OrderPaymentFailed'; data: { orderId: string; reason: string; at: string } };
export type OrderCancelled = { type: 'OrderCancelled'; data: { orderId: string; reason: CancelReason; at: string } };
export type OrderExpired = { type: 'OrderExpired'; data: { orderId: string; at: string } };
export type OrderProvisioned = {
  type: 'OrderProvisioned';
  data: { orderId: string; requestNo: number; bossRef: string; validFrom: string; validUntil: string; at: string };
};
export type OrderProvisioningFailed = {
  type: 'OrderProvisioningFailed';
  data: { orderId: string; requestNo: number; reason: string; at: string };
};
export type OrderReprovisionRequested = {
  type: 'OrderReprovisionRequested';
  data: { orderId: string; requestNo: number; at: string };
};
export type OrderRefunded = { type: 'OrderRefunded'; data: { orderId: string; refundNo: string; amount: Money; at: string } };

export type OrderEvent =
  | OrderPlaced
  | OrderPaymentPending
  | OrderPaid
  | OrderPaymentFailed
  | OrderCancelled
  | OrderExpired
  | OrderProvisioned
  | OrderProvisioningFailed
  | OrderReprovisionRequested
  | OrderRefunded;

export type OrderFacts = OrderPlaced['data'];
type Paid = { paymentId: string; tradeNo: string; paidAt: string };
/** requestNo of BOSS requests: 0 is the first provisioning, 1.. are reprovisions by customer service. */
type Provisioning = { lastRequestNo: number };

export type Order =
  | { status: 'none' }
  | (OrderFacts & { status: 'awaiting_confirmation' })
  | (OrderFacts & { status: 'payment_pending'; pendingAt: string })
  | (OrderFacts & Paid & Provisioning & { status: 'paid' })
  | (OrderFacts & Paid & Provisioning & { status: 'provisioned'; bossRef: string; validFrom: string; validUntil: string; provisionedRequestNo: number })
  | (OrderFacts & Paid & { status: 'provisioning_failed'; reason: string })
  | (OrderFacts & Partial<Paid> & { status: 'refunded'; refundNo: string })
  | (OrderFacts & { status: 'cancelled'; reason: CancelReason; at: string })
  | (OrderFacts & { status: 'expired'; at: string })
  | (OrderFacts & { status: 'payment_failed'; reason: string; at: string });

export type OrderStatus = Order['status'];

/** Every status an order that exists can be in (API.md lists them); a new status not listed here fails the typecheck. */
export const ORDER_STATUSES = [
  'awaiting_confirmation',
  'payment_pending',
  'paid',
  'provisioned',
  'cancelled',
  'expired',
  'payment_failed',
  'provisioning_failed',
  'refunded',
] as const satisfies readonly Exclude<OrderStatus, 'none'>[];
type Unlisted = Exclude<Exclude<OrderStatus, 'none'>, (typeof ORDER_STATUSES)[number]>;
const everyStatusListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyStatusListed;

export const initialOrder: Order = { status: 'none' };

export const orderStream = (orderId: string): string => `order-${orderId}`;

/** Folds one event into the state. Events are facts: evolve never refuses, it ignores what cannot apply. */
export const evolveOrder = (state: Order, event: OrderEvent): Order => {
  switch (event.type) {
    case 'OrderPlaced':
      return state.status === 'none' ? { ...event.data, status: 'awaiting_confirmation' } : state;
    case 'OrderPaymentPending':
      return state.status === 'awaiting_confirmation' ? { ...state, status: 'payment_pending', pendingAt: event.data.at } : state;
    case 'OrderPaid':
      return state.status === 'awaiting_confirmation' || state.status === 'payment_pending'
        ? {
            ...facts(state),
            status: 'paid',
            paymentId: event.data.paymentId,
            tradeNo: event.data.tradeNo,
            paidAt: event.data.paidAt,
            lastRequestNo: 0,
          }
        : state;
    case 'OrderPaymentFailed':
      return isOpen(state) ? { ...facts(state), status: 'payment_failed', reason: event.data.reason, at: event.data.at } : state;
    case 'OrderCancelled':
      return isOpen(state) ? { ...facts(state), status: 'cancelled', reason: event.data.reason, at: event.data.at } : state;
    case 'OrderExpired':
      return isOpen(state) ? { ...facts(state), status: 'expired', at: event.data.at } : state;
    case 'OrderProvisioned':
      return state.status === 'paid' || state.status === 'provisioned'
        ? {
            ...facts(state),
            paymentId: state.paymentId,
            tradeNo: state.tradeNo,
            paidAt: state.paidAt,
            lastRequestNo: Math.max(state.lastRequestNo, event.data.requestNo),
            status: 'provisioned',
            bossRef: event.data.bossRef,
            validFrom: event.data.validFrom,
            validUntil: event.data.validUntil,
            provisionedRequestNo: event.data.requestNo,
          }
        : state;
    case 'OrderProvisioningFailed':
      return state.status === 'paid'
        ? {
            ...facts(state),
            paymentId: state.paymentId,
            tradeNo: state.tradeNo,
            paidAt: state.paidAt,
            status: 'provisioning_failed',
            reason: event.data.reason,
          }
        : state;
    case 'OrderReprovisionRequested':
      return state.status === 'paid' || state.status === 'provisioned' ? { ...state, lastRequestNo: event.data.requestNo } : state;
    case 'OrderRefunded':
      switch (state.status) {
        case 'provisioning_failed':
          return {
            ...facts(state),
            paymentId: state.paymentId,
            tradeNo: state.tradeNo,
            paidAt: state.paidAt,
            status: 'refunded',
            refundNo: event.data.refundNo,
          };
        case 'payment_pending':
        case 'cancelled':
        case 'expired':
        case 'payment_failed':
          return { ...facts(state), status: 'refunded', refundNo: event.data.refundNo };
        default:
          return state;
      }
    default:
      return assertNever(event);
  }
};

/** Not yet paid and not closed: the only states an order can be cancelled, expired or fail its payment in. */
const isOpen = (state: Order): state is Extract<Order, { status: 'awaiting_confirmation' | 'payment_pending' }> =>
  state.status === 'awaiting_confirmation' || state.status === 'payment_pending';

/** The placed-order facts of any state past `none`. */
export const facts = (state: Exclude<Order, { status: 'none' }>): OrderFacts => ({
  orderId: state.orderId,
  paymentId: state.paymentId,
  subscriberId: state.subscriberId,
  smartcardId: state.smartcardId,
  msisdn: state.msisdn,
  product: state.product,
  amount: state.amount,
  placedAt: state.placedAt,
  expiresAt: state.expiresAt,
  client: state.client,
  requestHash: state.requestHash,
});

/** A stored event as an order event, or undefined for another type. */
export const readOrderEvent = eventReader<OrderEvent>({
  OrderPlaced: true,
  OrderPaymentPending: true,
  OrderPaid: true,
  OrderPaymentFailed: true,
  OrderCancelled: true,
  OrderExpired: true,
  OrderProvisioned: true,
  OrderProvisioningFailed: true,
  OrderReprovisionRequested: true,
  OrderRefunded: true,
});

export const foldOrder = (events: readonly OrderEvent[]): Order => events.reduce(evolveOrder, initialOrder);
