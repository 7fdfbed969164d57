/**
 * Properties of the journal over random histories made by the deciders themselves: orders, renewals
 * that stack on the same card, refunds after BOSS refuses, payment failures, flagged amounts (refunded
 * or accepted by an admin, or waiting), money arriving after a failure, declines, expiries. On every
 * day: the day balances, the books balance, revenue recognised + deferred revenue = the cash we keep
 * from charges, and nothing is recognised twice.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACCOUNT_IDS, accountingDay, balancesOf, foldJournal, isBalanced, nextDay, type JournalEntry } from '../domain/accounts.ts';
import { decideOrder, type OrderCommand } from '../domain/order/decide.ts';
import { evolveOrder, initialOrder, type Order, type OrderEvent } from '../domain/order/order.ts';
import { decidePayment, type PaymentCommand } from '../domain/payment/decide.ts';
import { evolvePayment, initialPayment, type Payment, type PaymentEvent } from '../domain/payment/payment.ts';
import { cny } from '../domain/money.ts';

const PRODUCTS = [
  { productId: 'sports-month', name: 'Sports', description: '', channels: ['CCTV-5'], price: cny(3800), periodDays: 30 },
  { productId: 'kids-quarter', name: 'Kids', description: '', channels: ['CCTV-14'], price: cny(4500), periodDays: 90 },
] as const;
/**
 * flagged-*: the platform took another amount; an admin refunds it, accepts it (it pays the order), or
 * has not looked yet. late-money: SUCCESS after FAILED, returned at once. refunded-later: refunded some
 * days into its entitlement without a request first (the audit calls that money with goods; the books
 * must still hold).
 */
const PATHS = [
  'provisioned',
  'refused',
  'failed',
  'flagged',
  'flagged-refunded',
  'flagged-accepted',
  'late-money',
  'declined',
  'expired',
  'refunded-later',
] as const;
type Plan = { card: number; product: number; startMinutes: number; path: (typeof PATHS)[number]; refundAfterSeconds: number };

type Timed = { at: number; eventId: string; event: OrderEvent | PaymentEvent };

const START = Date.parse('2026-11-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** Runs each plan through the deciders; the events of all orders, in time order. */
const history = (plans: readonly Plan[]): Timed[] => {
  const out: Timed[] = [];
  const ends = new Map<string, number>(); // card:product → end of the last entitlement opened
  let n = 0;
  // biome-ignore lint/suspicious/useIterableCallbackReturn: each plan's story ends where it returns; nothing is collected
  plans.forEach((plan, i) => {
    const orderId = `o${i}`;
    const paymentId = `p${i}`;
    const product = PRODUCTS[plan.product] ?? PRODUCTS[0];
    let order: Order = initialOrder;
    let payment: Payment = initialPayment;
    const t0 = START + plan.startMinutes * 60_000;
    const order_ = (cmd: OrderCommand, at: number) => {
      for (const e of decideOrder(cmd, order)) {
        order = evolveOrder(order, e);
        out.push({ at, eventId: `ev${n++}`, event: e });
      }
    };
    const pay = (cmd: PaymentCommand, at: number) => {
      const events = decidePayment(cmd, payment);
      for (const e of events) {
        payment = evolvePayment(payment, e);
        out.push({ at, eventId: `ev${n++}`, event: e });
      }
      return events;
    };
    const now = (s: number) => new Date(t0 + s * 1000);
    order_(
      {
        type: 'PlaceOrder',
        orderId,
        paymentId,
        subscriberId: 's',
        smartcardId: `card-${plan.card}`,
        msisdn: '8613800138000',
        product,
        client: 'c',
        requestHash: 'h',
        ttlSeconds: 900,
        now: now(0),
      },
      t0,
    );
    pay(
      {
        type: 'RequestPayment',
        paymentId,
        orderId,
        amount: product.price,
        msisdn: '8613800138000',
        subject: product.name,
        payBy: iso(t0 + 900_000),
        codeTtlSeconds: 300,
        now: now(0),
      },
      t0,
    );
    if (plan.path === 'expired') return order_({ type: 'ExpireOrder', orderId, now: now(900) }, t0 + 900_000);
    if (plan.path === 'declined') {
      pay({ type: 'DeclinePayment', paymentId, now: now(5) }, t0 + 5000);
      return order_({ type: 'CancelOrder', orderId, reason: 'declined', now: now(5) }, t0 + 5000);
    }
    pay({ type: 'ConfirmPayment', paymentId, code: { matches: () => true }, attemptId: `a${i}`, now: now(10) }, t0 + 10_000);
    order_({ type: 'MarkPaymentPending', orderId, paymentId, now: now(10) }, t0 + 10_000);
    pay({ type: 'RecordTradeCreated', paymentId, tradeNo: `T${i}`, now: now(11) }, t0 + 11_000);
    const result = (status: 'SUCCESS' | 'FAILED', fen: number, s = 12) =>
      pay(
        {
          type: 'RecordPlatformResult',
          paymentId,
          source: 'notification',
          notificationId: `N${i}${status}`,
          tradeNo: `T${i}`,
          status,
          amount: cny(fen),
          now: now(s),
        },
        t0 + s * 1000,
      );
    // After every other step of the order (the review is at 20 s).
    const refundAt = t0 + 21_000 + plan.refundAfterSeconds * 1000;
    const refundRequested = (): void => {
      const p = payment;
      if (p.status !== 'refunding') throw new Error(`expected a refund under way, not ${p.status}`);
      pay({ type: 'RecordRefund', paymentId, refundNo: p.refundNo, amount: p.refund, now: new Date(refundAt) }, refundAt);
      order_({ type: 'MarkRefunded', orderId, refundNo: p.refundNo, amount: p.refund, now: new Date(refundAt) }, refundAt);
    };
    const provision = (s: number): void => {
      // Renewals stack: the entitlement starts where the card's current one of this package ends.
      const key = `${plan.card}:${plan.product}`;
      const from = Math.max(ends.get(key) ?? 0, t0 + s * 1000);
      const until = from + product.periodDays * 86_400_000;
      ends.set(key, until);
      order_({ type: 'MarkProvisioned', orderId, requestNo: 0, bossRef: `B${i}`, validFrom: iso(from), validUntil: iso(until), now: now(s) }, t0 + s * 1000);
    };
    const markPaid = (e: PaymentEvent | undefined, s: number): void => {
      if (e?.type !== 'PaymentSucceeded') throw new Error('expected a success');
      order_({ type: 'MarkPaid', orderId, paymentId, tradeNo: e.data.tradeNo, amount: e.data.amount, paidAt: e.data.at }, t0 + s * 1000);
    };
    switch (plan.path) {
      case 'failed':
        result('FAILED', product.price.value);
        return order_({ type: 'MarkPaymentFailed', orderId, reason: 'platform_failed', now: now(12) }, t0 + 12_000);
      case 'late-money':
        result('FAILED', product.price.value);
        order_({ type: 'MarkPaymentFailed', orderId, reason: 'platform_failed', now: now(12) }, t0 + 12_000);
        result('SUCCESS', product.price.value, 13);
        return refundRequested();
      case 'flagged':
      case 'flagged-refunded':
      case 'flagged-accepted': {
        const accepted = plan.path === 'flagged-accepted';
        result('SUCCESS', product.price.value + (accepted ? -100 : 1));
        if (plan.path === 'flagged') return;
        const by = { role: 'admin', client: 'finance' };
        const events = pay({ type: 'ReviewPayment', paymentId, decision: accepted ? 'accept' : 'refund', reason: 'checked', by, now: now(20) }, t0 + 20_000);
        if (!accepted) return refundRequested();
        markPaid(
          events.find((e) => e.type === 'PaymentSucceeded'),
          20,
        );
        return provision(21);
      }
      case 'provisioned':
      case 'refunded-later':
      case 'refused': {
        const [ok] = result('SUCCESS', product.price.value);
        markPaid(ok, 12);
        if (plan.path === 'refused') {
          order_({ type: 'MarkProvisioningFailed', orderId, requestNo: 0, reason: 'card unknown', now: now(13) }, t0 + 13_000);
          pay({ type: 'RequestRefund', paymentId, reason: 'provisioning_failed', now: now(13) }, t0 + 13_000);
          return refundRequested();
        }
        provision(13);
        if (plan.path === 'refunded-later') {
          const later = refundAt + plan.refundAfterSeconds * 10_000; // up to a month in
          pay({ type: 'RecordRefund', paymentId, refundNo: `R${i}`, amount: product.price, now: new Date(later) }, later);
        }
        return;
      }
      default:
        return;
    }
  });
  return out.sort((a, b) => a.at - b.at); // stable: each order's events keep their order
};

const plan: fc.Arbitrary<Plan> = fc.record({
  card: fc.integer({ min: 0, max: 2 }),
  product: fc.integer({ min: 0, max: 1 }),
  startMinutes: fc.integer({ min: 0, max: 60 * 24 * 45 }),
  path: fc.constantFrom(...PATHS),
  refundAfterSeconds: fc.integer({ min: 1, max: 3 * 86_400 }),
});
// Sorted by start, as orders arrive; the plan's index names the order.
const plans = fc.array(plan, { minLength: 1, maxLength: 14 }).map((ps) => [...ps].sort((a, b) => a.startMinutes - b.startMinutes));

/** The cash we keep from charges as of the end of `day`: charges less refunds of charged money decided, from the events alone. */
const cashKept = (events: readonly Timed[], day: string): number => {
  let kept = 0;
  const requested = new Set<string>();
  for (const { at, event: e } of events) {
    if (accountingDay(iso(at)) > day) continue;
    if (e.type === 'PaymentSucceeded') kept += e.data.amount.value;
    if (e.type === 'PaymentRefundRequested') {
      requested.add(e.data.paymentId);
      if (e.data.reason === 'order_closed' || e.data.reason === 'provisioning_failed') kept -= e.data.amount.value;
    }
    // A refund nobody requested first takes back charged money.
    if (e.type === 'PaymentRefunded' && !requested.has(e.data.paymentId)) kept -= e.data.amount.value;
  }
  return kept;
};

const days = (entries: readonly JournalEntry[], events: readonly Timed[]): string[] => {
  const all = [...entries.map((e) => e.day), ...events.map((e) => accountingDay(iso(e.at)))].sort();
  const out: string[] = [];
  for (let d = all[0] ?? '2026-11-01'; d <= (all.at(-1) ?? d); d = nextDay(d)) out.push(d);
  return out;
};

describe('the journal over random histories', () => {
  it('every day balances; revenue + deferred = cash kept; no account on its wrong side', () => {
    fc.assert(
      fc.property(plans, (ps) => {
        const events = history(ps);
        const entries = [...foldJournal(events).entries.values()];
        expect(entries.every(isBalanced)).toBe(true);
        for (const day of days(entries, events)) {
          const ofDay = entries.filter((e) => e.day === day);
          const moved = ofDay.flatMap((e) => e.lines).reduce((s, l) => ({ dr: s.dr + l.debit, cr: s.cr + l.credit }), { dr: 0, cr: 0 });
          expect(moved.dr, `the movements of ${day}`).toBe(moved.cr);
          const b = balancesOf(entries.filter((e) => e.day <= day));
          expect(
            ACCOUNT_IDS.reduce((s, a) => s + b[a], 0),
            `the books at the end of ${day}`,
          ).toBe(0);
          const kept = cashKept(events, day);
          expect(0 - (b.revenue + b.deferred_revenue), `revenue + deferred at the end of ${day}`).toBe(kept);
          // What the platform holds for us, less what we owe back and what is not ours yet: the cash we keep.
          expect(b.cash_at_platform + b.platform_receivable + b.refunds_payable + b.suspense_flagged, `cash kept at the end of ${day}`).toBe(kept);
          expect(b.deferred_revenue).toBeLessThanOrEqual(0);
          expect(b.platform_receivable).toBeGreaterThanOrEqual(0);
          expect(b.refunds_payable).toBeLessThanOrEqual(0);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("once every entitlement has run out, all that was kept is revenue, and each order's revenue is what it kept", () => {
    fc.assert(
      fc.property(plans, (ps) => {
        const events = history(ps);
        const { entries, books } = foldJournal(events);
        const b = balancesOf(entries.values());
        expect(b.deferred_revenue).toBe(0);
        expect(0 - b.revenue).toBe(cashKept(events, '9999-12-31'));
        for (const book of books.values()) {
          const own = [...entries.values()].filter((e) => e.orderId === book.orderId);
          const opened = own.some((e) => e.kind === 'recognition');
          // What the order brought in as revenue, net of any refund's reversal: all it kept, if its channels were opened.
          expect(0 - balancesOf(own).revenue, `revenue of ${book.orderId}`).toBe(opened ? book.kept : 0);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('a history with an entry that does not balance is caught (the check can fail)', () => {
    const events = history([{ card: 0, product: 0, startMinutes: 0, path: 'provisioned', refundAfterSeconds: 1 }]);
    const entries = [...foldJournal(events).entries.values()];
    const broken = entries.map((e, i) => (i === 0 ? { ...e, lines: e.lines.map((l) => (l.debit > 0 ? { ...l, debit: l.debit - 1 } : l)) } : e));
    expect(broken.every(isBalanced)).toBe(false);
    const b = balancesOf(broken);
    expect(ACCOUNT_IDS.reduce((s, a) => s + b[a], 0)).not.toBe(0);
  });
});
