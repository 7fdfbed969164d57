/**
 * Money that moved and ended with neither the goods nor a refund: the one outcome a payment ledger
 * must never leave alone. A payment the platform took money for is stranded when, longer than the
 * grace period after the money moved, it is still
 * - succeeded, but its order does not have its channels: closed first with no refund under way, or
 *   paid and never provisioned (BOSS gave up, and nobody reprovisioned or refunded);
 * - flagged (an amount mismatch nobody reviewed, or an unexpected success whose refund never started);
 * - refunding (the refund has not gone through).
 * Within the grace period these are work in progress (the workflow and the outbound engine finish them).
 */
import type { Order } from '../../domain/order/order.ts';
import type { Payment, PaymentEvent } from '../../domain/payment/payment.ts';

export type StrandedMoney = { paymentId: string; orderId: string; status: 'succeeded' | 'flagged' | 'refunding'; since: string; fen: number };

/** The last time money moved for each payment (success, flag, refund request), our clock. */
export type MovedAt = ReadonlyMap<string, string>;

export const DEFAULT_GRACE_MS = 24 * 3600_000;

/** Paid is not the goods: the channels are, once BOSS has opened them. */
const ORDER_HAS_ITS_GOODS: ReadonlySet<Order['status']> = new Set(['provisioned']);

export const strandedMoney = (
  payments: ReadonlyMap<string, Payment>,
  orders: ReadonlyMap<string, Order>,
  movedAt: MovedAt,
  now: Date,
  graceMs: number = DEFAULT_GRACE_MS,
): StrandedMoney[] => {
  const out: StrandedMoney[] = [];
  for (const [paymentId, p] of payments) {
    const since = movedAt.get(paymentId);
    if (since === undefined || now.getTime() - Date.parse(since) < graceMs) continue;
    switch (p.status) {
      case 'succeeded': {
        const o = orders.get(p.orderId);
        if (o && ORDER_HAS_ITS_GOODS.has(o.status)) continue;
        out.push({ paymentId, orderId: p.orderId, status: p.status, since, fen: p.charged.value });
        continue;
      }
      case 'flagged':
        out.push({ paymentId, orderId: p.orderId, status: p.status, since, fen: p.reported.value });
        continue;
      case 'refunding':
        out.push({ paymentId, orderId: p.orderId, status: p.status, since, fen: p.refund.value });
        continue;
      default:
        continue;
    }
  }
  return out;
};

/** When the event moved money for its payment (what starts the grace period), by our clock; undefined if it did not. */
export const moneyMovedAt = (e: PaymentEvent): string | undefined =>
  e.type === 'PaymentSucceeded' || e.type === 'PaymentFlagged' || e.type === 'PaymentRefundRequested' ? e.data.at : undefined;
