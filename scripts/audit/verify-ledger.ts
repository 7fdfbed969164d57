/**
 * The ledger's part of the audit: every order and payment event re-decided (redecide.ts), and at
 * the end of the log, every fen accounted for:
 * - a paid order has a succeeded (or later refunded) payment of the same amount and trade;
 * - money taken ends with the goods or a refund: past a grace period, nothing is stranded
 *   (stranded-money.ts): succeeded for an order that did not get paid, flagged, or refunding;
 * - a refunded order's payment is refunded, and an order never keeps its goods once refunded.
 * Prints charged / refunded / net / flagged for review, in fen.
 */
import { readOrderEvent } from '../../domain/order/order.ts';
import { readPaymentEvent } from '../../domain/payment/payment.ts';
import { readSubscriberEvent } from '../../domain/subscriber/subscriber.ts';
import type { Order, OrderEvent } from '../../domain/order/order.ts';
import type { Payment, PaymentEvent } from '../../domain/payment/payment.ts';
import type { RecordedEvent } from '../../stores/event-store.ts';
import { refOf, type Check, type EventRef, type Finding } from './finding.ts';
import { redecider, type Replayed } from './redecide.ts';
import { moneyMovedAt, strandedMoney, type StrandedMoney } from './stranded-money.ts';

export type LedgerSummary = {
  orders: Record<string, number>;
  payments: Record<string, number>;
  /** Fen (CNY). net = charged − refunded; flagged money is kept apart, under review. */
  money: { charged: number; refunded: number; underReview: number; net: number };
  /** Money taken that has neither bought its goods nor gone back, past the grace period (also findings, rule money-stranded). */
  stranded: StrandedMoney[];
  /** Subscribers whose phone numbers were erased (their orders and money are audited like any other). */
  erasedSubscribers: number;
};

/** Rules about money and goods, as opposed to a decider's own refusals. */
const MONEY_RULES: ReadonlySet<string> = new Set([
  'amount',
  'trade',
  'money-without-order',
  'goods-without-money',
  'goods-differ',
  'refund-above-charge',
  'refund-with-goods',
]);
const checkOf = (rule: string): Check => (MONEY_RULES.has(rule) ? 'money' : rule === 'missing-cause' ? 'causation' : 'decide');

const replayedOf = (e: RecordedEvent): Replayed | undefined => {
  if (e.streamId.startsWith('order-')) {
    const event = readOrderEvent(e);
    return event && { aggregate: 'order', event };
  }
  if (e.streamId.startsWith('payment-')) {
    const event = readPaymentEvent(e);
    return event && { aggregate: 'payment', event };
  }
  return undefined;
};

export type LedgerChecker = {
  see(e: RecordedEvent, ordinal: number): void;
  /** `now` and `graceMs`: how long money may be in flight (a refund under way, a review pending) before it is stranded. */
  finish(now: Date, graceMs?: number): LedgerSummary;
  /** Every order and payment as the deciders folded them. */
  states(): { orders: ReadonlyMap<string, Order>; payments: ReadonlyMap<string, Payment> };
  findings: Finding[];
};

export const ledgerChecker = (): LedgerChecker => {
  const findings: Finding[] = [];
  const replay = redecider();
  /** Order and payment events by id: the causes the workflow derives commands from. */
  const byId = new Map<string, OrderEvent | PaymentEvent>();
  const lastOf = new Map<string, EventRef>();
  /** When money last moved for each payment (success, flag, refund request), by our clock. */
  const movedAt = new Map<string, string>();
  /** What each payment's refunds paid back (a flagged payment's refund is what the platform took, not the price). */
  const refundedFen = new Map<string, number>();
  const erased = new Set<string>();

  const atEnd = (streamId: string, rule: string, message: string): void => {
    const ref = lastOf.get(streamId);
    findings.push({ check: 'money', rule, message, ...(ref && { event: ref }) });
  };

  return {
    findings,
    states: () => ({ orders: replay.orders, payments: replay.payments }),
    see: (e, ordinal) => {
      if (e.streamId.startsWith('subscriber-') && readSubscriberEvent(e)) erased.add(e.streamId);
      const replayed = replayedOf(e);
      if (!replayed) return;
      const ref = refOf(e, ordinal);
      lastOf.set(e.streamId, ref);
      for (const p of replay.check(e.streamId, replayed, byId.get(e.metadata.causationId))) {
        findings.push({ check: checkOf(p.rule), rule: p.rule, message: `${e.type}: ${p.message}`, event: ref });
      }
      byId.set(e.id, replayed.event);
      const moved = replayed.aggregate === 'payment' ? moneyMovedAt(replayed.event) : undefined;
      if (moved) movedAt.set(e.streamId.slice('payment-'.length), moved);
      if (replayed.event.type === 'PaymentRefunded') {
        const id = replayed.event.data.paymentId;
        refundedFen.set(id, (refundedFen.get(id) ?? 0) + replayed.event.data.amount.value);
      }
    },
    finish: (now, graceMs) => {
      for (const { streamId, next } of replay.unfinished()) {
        const ref = lastOf.get(streamId);
        findings.push({
          check: 'decide',
          rule: 'decision-incomplete',
          message: `the stream ends in the middle of a decision: ${next.type} should follow`,
          ...(ref && { event: ref }),
        });
      }
      const money = { charged: 0, refunded: 0, underReview: 0, net: 0 };
      for (const [orderId, o] of replay.orders) {
        if (o.status === 'none') continue;
        const p = replay.payments.get(o.paymentId);
        const stream = `order-${orderId}`;
        // Orders that were paid; a refunded order may also have been closed when late money came back.
        const paid =
          o.status === 'paid' || o.status === 'provisioned' || o.status === 'provisioning_failed' || (o.status === 'refunded' && o.paidAt !== undefined);
        if (paid) {
          const settled = p && (p.status === 'succeeded' || p.status === 'refunded' || (o.status === 'provisioning_failed' && p.status === 'refunding'));
          if (!p || !settled) atEnd(stream, 'paid-without-money', `order ${orderId} is ${o.status} but its payment is ${p?.status ?? 'missing'}`);
          // What was taken may differ from the price only where an admin accepted it (the deciders allow nothing else).
          else if (p.amount.value !== o.amount.value || p.amount.currency !== o.amount.currency)
            atEnd(stream, 'amount', `order ${orderId} costs ${o.amount.value} fen but its payment asked ${p.amount.value}`);
          else if ('tradeNo' in p && o.tradeNo !== undefined && p.tradeNo !== o.tradeNo)
            atEnd(stream, 'trade', `order ${orderId} was paid by trade ${o.tradeNo} but its payment names ${p.tradeNo}`);
        }
        if (o.status === 'refunded' && p?.status !== 'refunded')
          atEnd(stream, 'refund-differs', `order ${orderId} is refunded but its payment is ${p?.status ?? 'missing'}`);
        if ((o.status === 'provisioned' || o.status === 'paid') && (p?.status === 'refunded' || p?.status === 'refunding')) {
          atEnd(
            stream,
            'refund-with-goods',
            `order ${orderId} is ${o.status} but its payment is ${p.status}: the subscriber has both the channels and the money`,
          );
        }
      }
      for (const [paymentId, p] of replay.payments) {
        if (p.status === 'none') continue;
        const o = replay.orders.get(p.orderId);
        const stream = `payment-${paymentId}`;
        if (!o || o.status === 'none') {
          atEnd(stream, 'missing-order', `payment ${paymentId} has no order (${p.orderId})`);
          continue;
        }
        if (o.paymentId !== paymentId) atEnd(stream, 'ids', `payment ${paymentId} names order ${p.orderId}, which is paid by ${o.paymentId}`);
        if (p.status === 'succeeded') money.charged += p.charged.value;
        if (p.status === 'refunding') money.charged += p.refund.value;
        if (p.status === 'refunded') {
          const back = refundedFen.get(paymentId) ?? p.amount.value;
          money.charged += back;
          money.refunded += back;
        }
        if (p.status === 'flagged') money.underReview += p.reported.value;
      }
      const stranded = strandedMoney(replay.payments, replay.orders, movedAt, now, graceMs);
      for (const s of stranded) {
        atEnd(
          `payment-${s.paymentId}`,
          'money-stranded',
          `payment ${s.paymentId}: ${s.fen} fen taken ${s.since} is still ${s.status}, with neither the goods nor a refund (order ${s.orderId})`,
        );
      }
      money.net = money.charged - money.refunded;
      const count = <T extends { status: string }>(m: Map<string, T>): Record<string, number> => {
        const out: Record<string, number> = {};
        for (const v of m.values()) if (v.status !== 'none') out[v.status] = (out[v.status] ?? 0) + 1;
        return out;
      };
      return { orders: count(replay.orders), payments: count(replay.payments), money, stranded, erasedSubscribers: erased.size };
    },
  };
};
