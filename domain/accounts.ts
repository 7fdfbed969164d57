/**
 * The double-entry books: the chart of accounts, and the rules that turn order and payment events
 * into balanced journal entries. Pure: times come from the events, days are accounting days in China
 * Standard Time (UTC+8), money is integer fen.
 *
 *   charge (PaymentSucceeded)       Dr cash at platform        Cr deferred revenue
 *   recognition, each day of the    Dr deferred revenue        Cr revenue
 *     entitlement (OrderProvisioned; renewals start where the previous period ends: BOSS was sent that)
 *   refund decided (PaymentRefund-  Dr deferred revenue (what was not yet recognised)
 *     Requested, of a charge)       Dr revenue (the rest)      Cr refunds payable
 *   refund paid (PaymentRefunded)   Dr refunds payable         Cr cash at platform
 *   flagged (PaymentFlagged)        Dr platform receivable     Cr suspense (flagged)
 *   flagged money to go back        Dr suspense (flagged)      Cr refunds payable
 *     (PaymentRefundRequested)      … and when paid:           Dr refunds payable, Cr platform receivable
 *   flagged money accepted by an    Dr cash at platform        Cr platform receivable
 *     admin (PaymentSucceeded)      Dr suspense (flagged)      Cr deferred revenue
 *
 * Money the platform reports for a payment that cannot pay its order (flagged) is not ours: it sits
 * as a receivable from the platform against suspense until it is refunded or an admin accepts it.
 * A refund paid that nobody decided first (logs written before refunds were requested) is decided
 * and paid in one entry.
 *
 * Recognition: the amount is spread over the accounting days the validity covers, pro rata to the
 * time covered each day, to the fen (largest remainder). A day's share is recognised at the end of
 * that day; the entries are written when the entitlement is opened, each dated its own day. A refund
 * reverses what was not yet recognised on the day it is decided and removes the later days' entries.
 *
 * Invariants (tested as properties over random histories): every entry balances, so every day does;
 * revenue + deferred revenue = cash at platform − refunds payable (the cash we keep from charges);
 * platform receivable = suspense.
 */
import { assertNever } from './never.ts';
import type { OrderEvent } from './order/order.ts';
import type { PaymentEvent } from './payment/payment.ts';

export const ACCOUNTS = {
  cash_at_platform: { code: '1010', name: 'Cash at payment platform', type: 'asset' },
  platform_receivable: { code: '1020', name: 'Receivable from payment platform (flagged, unresolved)', type: 'asset' },
  deferred_revenue: { code: '2010', name: 'Deferred revenue', type: 'liability' },
  refunds_payable: { code: '2020', name: 'Refunds payable', type: 'liability' },
  suspense_flagged: { code: '2090', name: 'Suspense: flagged payments', type: 'liability' },
  revenue: { code: '4010', name: 'Subscription revenue', type: 'income' },
} as const;

export type Account = keyof typeof ACCOUNTS;
export const ACCOUNT_IDS = Object.keys(ACCOUNTS) as Account[];

/** One side of an entry, in fen: exactly one of debit and credit is above zero. */
export type JournalLine = { account: Account; debit: number; credit: number };

export type EntryKind = 'charge' | 'recognition' | 'refund_due' | 'refund_paid' | 'flagged' | 'flagged_accepted' | 'flagged_refund_due' | 'flagged_refunded';
export const ENTRY_KINDS: readonly EntryKind[] = [
  'charge',
  'recognition',
  'refund_due',
  'refund_paid',
  'flagged',
  'flagged_accepted',
  'flagged_refund_due',
  'flagged_refunded',
];

export type JournalEntry = {
  /** Derived from the event (and the day, for recognition): the same event always makes the same entries. */
  id: string;
  /** Accounting day, UTC+8. */
  day: string;
  /** The event's time (ours); for recognition, the end of its day. */
  at: string;
  kind: EntryKind;
  orderId: string;
  paymentId: string;
  /** The event the entry comes from. */
  eventId: string;
  lines: JournalLine[];
};

const CST_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

/** The accounting day (UTC+8) of an instant: '2026-11-25'. */
export const accountingDay = (iso: string): string => new Date(Date.parse(iso) + CST_OFFSET_MS).toISOString().slice(0, 10);
/** When an accounting day starts, as an instant. */
const dayStart = (day: string): number => Date.parse(`${day}T00:00:00.000Z`) - CST_OFFSET_MS;
/** The last instant of an accounting day, ISO. */
export const endOfDay = (day: string): string => new Date(dayStart(day) + DAY_MS - 1).toISOString();
export const nextDay = (day: string): string => new Date(Date.parse(`${day}T00:00:00.000Z`) + DAY_MS).toISOString().slice(0, 10);

export type DayShare = { day: string; fen: number };

/**
 * `fen` spread over the accounting days that [from, until) covers, pro rata to the milliseconds of
 * each day, the remainder fen going to the days with the largest fractions (the earliest on a tie).
 * The shares add up to `fen` exactly.
 */
export const spreadOverDays = (fen: number, from: string, until: string): DayShare[] => {
  const start = Date.parse(from);
  const end = Date.parse(until);
  if (!(end > start) || fen <= 0) return fen > 0 ? [{ day: accountingDay(from), fen }] : [];
  const spans: { day: string; ms: number }[] = [];
  for (let day = accountingDay(from); dayStart(day) < end; day = nextDay(day)) {
    const ms = Math.min(end, dayStart(day) + DAY_MS) - Math.max(start, dayStart(day));
    if (ms > 0) spans.push({ day, ms });
  }
  const total = end - start;
  // fen and ms are integers: fen * ms stays exact below 2^53 for any amount and period we sell.
  const shares = spans.map((s, i) => ({ i, day: s.day, fen: Math.floor((fen * s.ms) / total), rest: (fen * s.ms) % total }));
  let left = fen - shares.reduce((sum, s) => sum + s.fen, 0);
  for (const s of [...shares].sort((a, b) => b.rest - a.rest || a.i - b.i)) {
    if (left === 0) break;
    s.fen += 1;
    left -= 1;
  }
  return shares.filter((s) => s.fen > 0).map(({ day, fen: f }) => ({ day, fen: f }));
};

/** What the books remember of one order between events. */
export type OrderBook = {
  orderId: string;
  paymentId: string;
  /** Cash kept from this order's charges: charged, less refunds decided. */
  kept: number;
  /** Flagged money held as a receivable. */
  held: number;
  /** Refunds decided, not yet paid: of charged money (paid from cash) and of flagged money (from the receivable). */
  dueKept: number;
  dueHeld: number;
  /** The recognition schedule, once the entitlement is opened. */
  schedule: DayShare[];
};

export type JournalStep = {
  book: OrderBook | undefined;
  entries: JournalEntry[];
  /** Ids of scheduled recognition entries a refund takes back (days not reached yet). */
  cancelled: string[];
};

const line = (account: Account, debit: number, credit: number): JournalLine => ({ account, debit, credit });
const dr = (account: Account, fen: number): JournalLine => line(account, fen, 0);
const cr = (account: Account, fen: number): JournalLine => line(account, 0, fen);

export const recognitionId = (orderId: string, day: string): string => `recognition:${orderId}:${day}`;

/** The order and payment ids an event is booked under (payment events name their order). */
export const orderIdOf = (e: OrderEvent | PaymentEvent): string | undefined => ('orderId' in e.data ? e.data.orderId : undefined);

/**
 * Reverses `fen` of an order's charge on `day`: first what is still deferred (the shares of `day`
 * and later), then recognised revenue; the later days' entries are taken back.
 */
const reverse = (book: OrderBook, fen: number, day: string): { lines: JournalLine[]; cancelled: string[]; schedule: DayShare[] } => {
  const recognised = book.schedule.filter((s) => s.day < day).reduce((sum, s) => sum + s.fen, 0);
  const deferred = book.kept - recognised;
  const fromDeferred = Math.min(fen, Math.max(0, deferred));
  return {
    lines: [...(fromDeferred > 0 ? [dr('deferred_revenue', fromDeferred)] : []), ...(fen > fromDeferred ? [dr('revenue', fen - fromDeferred)] : [])],
    cancelled: book.schedule.filter((s) => s.day >= day).map((s) => recognitionId(book.orderId, s.day)),
    schedule: book.schedule.filter((s) => s.day < day),
  };
};

/** The entries one event makes, and the order's books after it. */
export const journalStep = (book: OrderBook | undefined, e: OrderEvent | PaymentEvent, eventId: string): JournalStep => {
  const none: JournalStep = { book, entries: [], cancelled: [] };
  const entry = (b: OrderBook, kind: EntryKind, at: string, lines: JournalLine[], id = `${kind}:${eventId}`): JournalEntry => ({
    id,
    day: accountingDay(at),
    at,
    kind,
    orderId: b.orderId,
    paymentId: b.paymentId,
    eventId,
    lines,
  });
  if (e.type === 'OrderPlaced') {
    return book ? none : { ...none, book: { orderId: e.data.orderId, paymentId: e.data.paymentId, kept: 0, held: 0, dueKept: 0, dueHeld: 0, schedule: [] } };
  }
  if (!book) return none;
  switch (e.type) {
    case 'PaymentSucceeded': {
      const fen = e.data.amount.value;
      const at = e.data.at;
      // An admin accepted flagged money: it leaves the receivable and suspense and pays the order.
      if (e.data.source === 'review' && book.held >= fen) {
        const lines = [dr('cash_at_platform', fen), cr('platform_receivable', fen), dr('suspense_flagged', fen), cr('deferred_revenue', fen)];
        return { book: { ...book, held: book.held - fen, kept: book.kept + fen }, entries: [entry(book, 'flagged_accepted', at, lines)], cancelled: [] };
      }
      return {
        book: { ...book, kept: book.kept + fen },
        entries: [entry(book, 'charge', at, [dr('cash_at_platform', fen), cr('deferred_revenue', fen)])],
        cancelled: [],
      };
    }
    case 'PaymentFlagged': {
      const fen = e.data.reported.value;
      return {
        book: { ...book, held: book.held + fen },
        entries: [entry(book, 'flagged', e.data.at, [dr('platform_receivable', fen), cr('suspense_flagged', fen)])],
        cancelled: [],
      };
    }
    case 'OrderProvisioned': {
      // The first opening sets the schedule; a reprovision re-sends the same entitlement.
      if (book.schedule.length > 0 || book.kept <= 0) return none;
      const schedule = spreadOverDays(book.kept, e.data.validFrom, e.data.validUntil);
      const entries = schedule.map((s) =>
        entry(book, 'recognition', endOfDay(s.day), [dr('deferred_revenue', s.fen), cr('revenue', s.fen)], recognitionId(book.orderId, s.day)),
      );
      return { book: { ...book, schedule }, entries, cancelled: [] };
    }
    case 'PaymentRefundRequested': {
      const fen = e.data.amount.value;
      const at = e.data.at;
      if (book.held >= fen && book.held > 0) {
        return {
          book: { ...book, held: book.held - fen, dueHeld: book.dueHeld + fen },
          entries: [entry(book, 'flagged_refund_due', at, [dr('suspense_flagged', fen), cr('refunds_payable', fen)])],
          cancelled: [],
        };
      }
      const r = reverse(book, fen, accountingDay(at));
      return {
        book: { ...book, kept: book.kept - fen, dueKept: book.dueKept + fen, schedule: r.schedule },
        entries: [entry(book, 'refund_due', at, [...r.lines, cr('refunds_payable', fen)])],
        cancelled: r.cancelled,
      };
    }
    case 'PaymentRefunded': {
      const fen = e.data.amount.value;
      const at = e.data.at;
      if (book.dueHeld >= fen && book.dueHeld > 0) {
        return {
          book: { ...book, dueHeld: book.dueHeld - fen },
          entries: [entry(book, 'flagged_refunded', at, [dr('refunds_payable', fen), cr('platform_receivable', fen)])],
          cancelled: [],
        };
      }
      if (book.dueKept >= fen && book.dueKept > 0) {
        return {
          book: { ...book, dueKept: book.dueKept - fen },
          entries: [entry(book, 'refund_paid', at, [dr('refunds_payable', fen), cr('cash_at_platform', fen)])],
          cancelled: [],
        };
      }
      // Decided and paid at once (logs from before refunds were requested first).
      if (book.kept === 0 && book.held > 0) {
        const back = Math.min(fen, book.held);
        return {
          book: { ...book, held: book.held - back },
          entries: [entry(book, 'flagged_refunded', at, [dr('suspense_flagged', back), cr('platform_receivable', back)])],
          cancelled: [],
        };
      }
      const r = reverse(book, fen, accountingDay(at));
      return {
        book: { ...book, kept: book.kept - fen, schedule: r.schedule },
        entries: [entry(book, 'refund_paid', at, [...r.lines, cr('cash_at_platform', fen)])],
        cancelled: r.cancelled,
      };
    }
    case 'OrderProvisioningFailed':
    case 'PaymentReviewed':
    case 'OrderPaymentPending':
    case 'OrderPaid':
    case 'OrderPaymentFailed':
    case 'OrderCancelled':
    case 'OrderExpired':
    case 'OrderReprovisionRequested':
    case 'OrderRefunded':
    case 'PaymentRequested':
    case 'PaymentCodeRejected':
    case 'PaymentCodeResent':
    case 'PaymentConfirmed':
    case 'PaymentDeclined':
    case 'PaymentSubmitted':
    case 'PaymentFailed':
    case 'PaymentVoided':
      return none;
    default:
      return assertNever(e);
  }
};

/** Debits minus credits per account over the given entries (fen). */
export const balancesOf = (entries: Iterable<Pick<JournalEntry, 'lines'>>): Record<Account, number> => {
  const out = Object.fromEntries(ACCOUNT_IDS.map((a) => [a, 0])) as Record<Account, number>;
  for (const e of entries) for (const l of e.lines) out[l.account] += l.debit - l.credit;
  return out;
};

export const isBalanced = (e: Pick<JournalEntry, 'lines'>): boolean =>
  e.lines.every(
    (l) => Number.isSafeInteger(l.debit) && Number.isSafeInteger(l.credit) && l.debit >= 0 && l.credit >= 0 && (l.debit === 0) !== (l.credit === 0),
  ) && e.lines.reduce((sum, l) => sum + l.debit - l.credit, 0) === 0;

export type Journal = { entries: Map<string, JournalEntry>; books: Map<string, OrderBook> };

export const emptyJournal = (): Journal => ({ entries: new Map(), books: new Map() });

/** Books one event into a journal being built (its maps change in place), as the projection does. */
export const bookEvent = (journal: Journal, eventId: string, event: OrderEvent | PaymentEvent): void => {
  const orderId = orderIdOf(event);
  if (!orderId) return;
  const step = journalStep(journal.books.get(orderId), event, eventId);
  for (const id of step.cancelled) journal.entries.delete(id);
  for (const e of step.entries) journal.entries.set(e.id, e);
  if (step.book) journal.books.set(orderId, step.book);
};

/** The journal of a whole history, in log order. */
export const foldJournal = (events: Iterable<{ eventId: string; event: OrderEvent | PaymentEvent }>): Journal => {
  const journal = emptyJournal();
  for (const { eventId, event } of events) bookEvent(journal, eventId, event);
  return journal;
};
