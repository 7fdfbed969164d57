/**
 * The journal's part of the audit: the double-entry journal rebuilt from the log with the same rules
 * the journal projection uses (domain/accounts.ts), then held against the deciders' view of each
 * order: the cash an order's books keep is what its payment says was charged and not refunded; a
 * refund owed is one the order is waiting for; flagged money sits in the receivable; an opened
 * entitlement recognises exactly what was kept. And every entry and every day balances.
 */
import { readOrderEvent, readPaymentEvent } from '../../commands/aggregates.ts';
import { accountingDay, balancesOf, foldJournal, isBalanced, orderIdOf, type JournalEntry } from '../../domain/accounts.ts';
import type { Order, OrderEvent } from '../../domain/order/order.ts';
import type { Payment, PaymentEvent } from '../../domain/payment/payment.ts';
import type { RecordedEvent } from '../../stores/event-store.ts';
import type { JournalAudit } from './audit-log.ts';
import { refOf, type EventRef, type Finding } from './finding.ts';

export type JournalChecker = {
  see(e: RecordedEvent, ordinal: number): void;
  finish(states: { orders: ReadonlyMap<string, Order>; payments: ReadonlyMap<string, Payment> }, now: Date): JournalAudit;
  findings: Finding[];
};

export const journalChecker = (): JournalChecker => {
  const findings: Finding[] = [];
  const events: { eventId: string; event: OrderEvent | PaymentEvent }[] = [];
  const lastOf = new Map<string, EventRef>();
  return {
    findings,
    see: (e, ordinal) => {
      const event = (e.streamId.startsWith('order-') && readOrderEvent(e)) || (e.streamId.startsWith('payment-') && readPaymentEvent(e)) || undefined;
      if (!event) return;
      events.push({ eventId: e.id, event });
      const orderId = orderIdOf(event);
      if (orderId) lastOf.set(orderId, refOf(e, ordinal));
    },
    finish: ({ orders, payments }, now) => {
      const { entries, books } = foldJournal(events);
      const all = [...entries.values()];
      const wrong = (orderId: string, rule: string, message: string) => {
        const ref = lastOf.get(orderId);
        findings.push({ check: 'journal', rule, message: `order ${orderId}: ${message}`, ...(ref && { event: ref }) });
      };
      for (const e of all) if (!isBalanced(e)) wrong(e.orderId, 'entry-unbalanced', `entry ${e.id} does not balance`);
      const byDay = new Map<string, JournalEntry[]>();
      for (const e of all) byDay.set(e.day, [...(byDay.get(e.day) ?? []), e]);
      const unbalancedDays = [...byDay.entries()].filter(([, es]) => Object.values(balancesOf(es)).reduce((s, v) => s + v, 0) !== 0).map(([d]) => d);

      for (const [orderId, book] of books) {
        const o = orders.get(orderId);
        const p = payments.get(book.paymentId);
        if (!o || o.status === 'none' || !p || p.status === 'none') continue;
        const charged = p.status === 'succeeded' ? p.amount.value : 0;
        const owed = o.status === 'provisioning_failed' && p.status === 'succeeded' ? p.amount.value : 0;
        if (book.kept !== charged - owed) wrong(orderId, 'journal-cash', `the books keep ${book.kept} fen; the payment (${p.status}) and order (${o.status}) say ${charged - owed}`);
        if (book.refundDue !== owed) wrong(orderId, 'journal-refund-due', `the books owe a refund of ${book.refundDue} fen; the deciders say ${owed}`);
        const held = p.status === 'flagged' ? p.reported.value : 0;
        if (book.held !== held) wrong(orderId, 'journal-flagged', `the books hold ${book.held} fen of flagged money; the payment says ${held}`);
        const scheduled = book.schedule.reduce((s, x) => s + x.fen, 0);
        if (o.status === 'provisioned' && scheduled !== book.kept) wrong(orderId, 'journal-recognition', `recognises ${scheduled} fen of the ${book.kept} it kept`);
      }
      for (const d of unbalancedDays) findings.push({ check: 'journal', rule: 'day-unbalanced', message: `the journal of ${d} does not balance` });

      const today = accountingDay(now.toISOString());
      const b = balancesOf(all.filter((e) => e.day <= today));
      return {
        entries: all.length,
        days: byDay.size,
        unbalancedDays,
        recognised: 0 - b.revenue,
        deferred: 0 - b.deferred_revenue,
        cashKept: b.cash_at_platform + b.refunds_payable,
      };
    },
  };
};
