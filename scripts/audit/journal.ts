/**
 * The journal's part of the audit: the double-entry journal rebuilt from the log with the same rules
 * the journal projection uses (domain/accounts.ts), then held against the deciders' view of each
 * payment: the cash an order's books keep is what its payment says was charged and not refunded; a
 * refund owed is one the payment is waiting for (of charged or of flagged money); flagged money sits
 * in the receivable; an opened entitlement recognises exactly what was kept. And every entry and
 * every day balances.
 */
import { readOrderEvent } from '../../domain/order/order.ts';
import { readPaymentEvent, refundReturnsFlaggedMoney } from '../../domain/payment/payment.ts';
import { accountingDay, balancesOf, bookEvent, emptyJournal, isBalanced, orderIdOf, type JournalEntry } from '../../domain/accounts.ts';
import type { Order } from '../../domain/order/order.ts';
import { assertNever } from '../../domain/never.ts';
import type { Payment } from '../../domain/payment/payment.ts';
import type { RecordedEvent } from '../../stores/event-store.ts';
import { refOf, type EventRef, type Finding } from './finding.ts';

export type JournalAudit = { entries: number; days: number; unbalancedDays: string[]; recognised: number; deferred: number; cashKept: number };

/** What an order's books must hold, from its payment as the deciders folded it. */
const booksOf = (p: Exclude<Payment, { status: 'none' }>): { kept: number; held: number; dueKept: number; dueHeld: number } => {
  const none = { kept: 0, held: 0, dueKept: 0, dueHeld: 0 };
  switch (p.status) {
    case 'succeeded':
      return { ...none, kept: p.charged.value };
    case 'flagged':
      return { ...none, held: p.reported.value };
    case 'refunding':
      return refundReturnsFlaggedMoney(p.reason) ? { ...none, dueHeld: p.refund.value } : { ...none, dueKept: p.refund.value };
    case 'awaiting_confirmation':
    case 'confirmed':
    case 'submitted':
    case 'failed':
    case 'declined':
    case 'voided':
    case 'refunded':
      return none;
    default:
      return assertNever(p);
  }
};

export type JournalChecker = {
  see(e: RecordedEvent, ordinal: number): void;
  finish(states: { orders: ReadonlyMap<string, Order>; payments: ReadonlyMap<string, Payment> }, now: Date): JournalAudit;
  findings: Finding[];
};

export const journalChecker = (): JournalChecker => {
  const findings: Finding[] = [];
  // Built as the log is read, as the projection does: the events themselves are not kept.
  const journal = emptyJournal();
  const { entries, books } = journal;
  const lastOf = new Map<string, EventRef>();
  return {
    findings,
    see: (e, ordinal) => {
      const event = (e.streamId.startsWith('order-') && readOrderEvent(e)) || (e.streamId.startsWith('payment-') && readPaymentEvent(e)) || undefined;
      const orderId = event && orderIdOf(event);
      if (!event || !orderId) return;
      bookEvent(journal, e.id, event);
      lastOf.set(orderId, refOf(e, ordinal));
    },
    finish: ({ orders, payments }, now) => {
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
        const expected = booksOf(p);
        for (const [field, what] of [
          ['kept', 'keep'],
          ['held', 'hold as flagged'],
          ['dueKept', 'owe back of charged money'],
          ['dueHeld', 'owe back of flagged money'],
        ] as const) {
          if (book[field] !== expected[field])
            wrong(orderId, `journal-${field}`, `the books ${what} ${book[field]} fen; the payment (${p.status}) says ${expected[field]}`);
        }
        const scheduled = book.schedule.reduce((s, x) => s + x.fen, 0);
        if (o.status === 'provisioned' && scheduled !== book.kept)
          wrong(orderId, 'journal-recognition', `recognises ${scheduled} fen of the ${book.kept} it kept`);
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
