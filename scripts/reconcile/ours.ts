/**
 * Our side of the reconciliation: every payment in the log, folded with the service's own decider,
 * with the money events and their times. Never holds a phone number (only ids, statuses, fen).
 */
import { readPaymentEvent } from '../../domain/payment/payment.ts';
import { evolvePayment, initialPayment, type Payment, type PaymentStatus } from '../../domain/payment/payment.ts';
import { readLog, type EventStore } from '../../stores/event-store.ts';

export type OurPayment = {
  paymentId: string;
  orderId: string;
  status: PaymentStatus;
  /** What the order costs, fen. */
  fen: number;
  /** The trade the platform gave us, once known. */
  tradeNo: string | undefined;
  /** PaymentSucceeded: what we recorded, when (our clock), and the platform's time as it told us (shown, matched on). */
  charge?: { fen: number; tradeNo: string; at: string; platformAt: string };
  /** PaymentFlagged: money the platform reported that could not pay the order. */
  flagged?: { fen: number; tradeNo: string; at: string };
  refunds: { refundNo: string; fen: number; at: string }[];
};

export const replayPayments = async (
  store: EventStore,
  onProgress?: (events: number) => void,
): Promise<{ events: number; payments: Map<string, OurPayment> }> => {
  const states = new Map<string, Payment>();
  const payments = new Map<string, OurPayment>();
  let events = 0;
  for await (const r of readLog(store)) {
    events++;
    if (events % 1000 === 0) onProgress?.(events);
    if (!r.streamId.startsWith('payment-')) continue;
    const e = readPaymentEvent(r);
    if (!e) continue; // unknown types are the audit's to report
    const id = r.streamId.slice('payment-'.length);
    const state = evolvePayment(states.get(id) ?? initialPayment, e);
    states.set(id, state);
    if (state.status === 'none') continue;
    const ours = payments.get(id) ?? { paymentId: id, orderId: state.orderId, status: state.status, fen: state.amount.value, tradeNo: undefined, refunds: [] };
    ours.status = state.status;
    ours.tradeNo = 'tradeNo' in state && state.tradeNo !== '' ? state.tradeNo : ours.tradeNo;
    switch (e.type) {
      case 'PaymentSucceeded':
        ours.charge = { fen: e.data.amount.value, tradeNo: e.data.tradeNo, at: e.data.at, platformAt: e.data.paidAt };
        break;
      case 'PaymentFlagged':
        ours.flagged = { fen: e.data.reported.value, tradeNo: e.data.tradeNo, at: e.data.at };
        break;
      case 'PaymentRefunded':
        ours.refunds.push({ refundNo: e.data.refundNo, fen: e.data.amount.value, at: e.data.at });
        break;
      default:
        break;
    }
    payments.set(id, ours);
  }
  return { events, payments };
};
