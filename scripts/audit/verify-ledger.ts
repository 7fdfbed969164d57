/**
 * The auditor's replay: reads the whole log, folds every order and payment with the
 * same deciders the service uses, and checks that every fen is accounted for.
 *
 * Invariants (each violation names the order or payment):
 * - a paid order has a succeeded (or later refunded) payment of the same amount and trade;
 * - a succeeded payment pays exactly one order, of the same amount;
 * - an order is provisioned only after it was paid;
 * - a refund never exceeds what was charged, and a refunded order's payment is refunded;
 * - a payment reaches the platform only for an order that accepted it (no charge without an order);
 * - money taken ends with the goods or a refund: past a grace period, nothing is stranded (stranded-money.ts);
 * - every event of a known stream is one the deciders know.
 */
import { evolveOrder, initialOrder, readOrderEvent, type Order } from '../../domain/order/order.ts';
import { evolvePayment, initialPayment, readPaymentEvent, type Payment } from '../../domain/payment/payment.ts';
import { readSubscriberEvent } from '../../domain/subscriber/subscriber.ts';
import { readTaskEvent } from '../../outbound/task.ts';
import { readLog, type EventStore } from '../../stores/event-store.ts';
import { moneyMovedAt, strandedMoney, type StrandedMoney } from './stranded-money.ts';

export type AuditReport = {
  events: number;
  orders: Record<string, number>;
  payments: Record<string, number>;
  /** Fen, per currency. */
  money: { charged: number; refunded: number; underReview: number; net: number };
  /** Money taken that has neither bought its goods nor gone back, past the grace period (also in violations). */
  stranded: StrandedMoney[];
  /** Subscribers whose phone numbers were erased (their orders and money are audited like any other). */
  erasedSubscribers: number;
  violations: string[];
};

export type AuditOptions = {
  /** The audit's "now", for the grace period of money in flight; default the clock. */
  now?: Date;
  /** How long money may be in flight (refund under way, review pending) before it counts as stranded; default 24 h. */
  graceMs?: number;
};

const ORDER_ACCEPTED_PAYMENT: ReadonlySet<string> = new Set(['payment_pending', 'paid', 'provisioned', 'provisioning_failed', 'refunded', 'payment_failed']);

export const auditLog = async (store: EventStore, opts: AuditOptions = {}): Promise<AuditReport> => {
  const orders = new Map<string, Order>();
  const payments = new Map<string, Payment>();
  const movedAt = new Map<string, string>();
  const violations: string[] = [];
  const erased = new Set<string>();
  let events = 0;
  for await (const e of readLog(store)) {
    events++;
    const id = e.streamId.slice(e.streamId.indexOf('-') + 1);
    if (e.streamId.startsWith('order-')) {
      const o = readOrderEvent(e);
      if (!o) violations.push(`${e.streamId}@${e.revision}: unknown event type ${e.type}`);
      else orders.set(id, evolveOrder(orders.get(id) ?? initialOrder, o));
    } else if (e.streamId.startsWith('payment-')) {
      const p = readPaymentEvent(e);
      if (!p) violations.push(`${e.streamId}@${e.revision}: unknown event type ${e.type}`);
      else {
        payments.set(id, evolvePayment(payments.get(id) ?? initialPayment, p));
        const moved = moneyMovedAt(p);
        if (moved !== undefined) movedAt.set(id, moved);
      }
    } else if (e.streamId.startsWith('task-')) {
      if (!readTaskEvent(e)) violations.push(`${e.streamId}@${e.revision}: unknown event type ${e.type}`);
    } else if (e.streamId.startsWith('subscriber-')) {
      // Erasures touch no money: they are counted, and checked to be erasures.
      if (!readSubscriberEvent(e)) violations.push(`${e.streamId}@${e.revision}: unknown event type ${e.type}`);
      else erased.add(id);
    }
  }

  const count = <T extends { status: string }>(m: Map<string, T>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const v of m.values()) out[v.status] = (out[v.status] ?? 0) + 1;
    return out;
  };
  const money = { charged: 0, refunded: 0, underReview: 0, net: 0 };

  for (const [orderId, o] of orders) {
    if (o.status === 'none') continue;
    const p = payments.get(o.paymentId);
    // Orders that were paid; a refunded order may also have been closed when late money came back.
    const paid = o.status === 'paid' || o.status === 'provisioned' || o.status === 'provisioning_failed' || (o.status === 'refunded' && o.paidAt !== undefined);
    if (paid) {
      const settled = p && (p.status === 'succeeded' || p.status === 'refunded' || (o.status === 'provisioning_failed' && p.status === 'refunding'));
      if (!p || !settled) {
        violations.push(`order ${orderId} is ${o.status} but its payment is ${p?.status ?? 'missing'}`);
      } else if (p.amount.value !== o.amount.value || p.amount.currency !== o.amount.currency) {
        violations.push(`order ${orderId} costs ${o.amount.value} fen but its payment is ${p.amount.value}`);
      } else if ('tradeNo' in p && p.tradeNo !== o.tradeNo) {
        violations.push(`order ${orderId} was paid by trade ${o.tradeNo} but its payment names ${p.tradeNo}`);
      }
    }
    if (o.status === 'refunded' && p?.status !== 'refunded') violations.push(`order ${orderId} is refunded but its payment is ${p?.status ?? 'missing'}`);
  }

  for (const [paymentId, p] of payments) {
    if (p.status === 'none') continue;
    const o = orders.get(p.orderId);
    if (!o || o.status === 'none') {
      violations.push(`payment ${paymentId} has no order (${p.orderId})`);
      continue;
    }
    if (o.paymentId !== paymentId) violations.push(`payment ${paymentId} names order ${p.orderId}, which is paid by ${o.paymentId}`);
    // Money may move only for an order that accepted its payment. (Flagged payments are the
    // platform's anomalies, kept for review: they are counted, not blamed on us.)
    const reachedPlatform = p.status === 'submitted' || p.status === 'succeeded' || p.status === 'refunded';
    if (reachedPlatform && !ORDER_ACCEPTED_PAYMENT.has(o.status)) {
      violations.push(`payment ${paymentId} reached the platform but order ${p.orderId} is ${o.status}`);
    }
    if (p.status === 'succeeded') money.charged += p.charged.value;
    if (p.status === 'refunding') money.charged += p.refund.value;
    if (p.status === 'refunded') {
      money.charged += p.amount.value;
      money.refunded += p.amount.value;
    }
    if (p.status === 'flagged') money.underReview += p.reported.value;
  }
  money.net = money.charged - money.refunded;
  const stranded = strandedMoney(payments, orders, movedAt, opts.now ?? new Date(), opts.graceMs);
  for (const s of stranded) {
    violations.push(`payment ${s.paymentId}: ${s.fen} fen taken ${s.since} is still ${s.status}, with neither the goods nor a refund (order ${s.orderId})`);
  }
  return { events, orders: count(orders), payments: count(payments), money, stranded, erasedSubscribers: erased.size, violations };
};
