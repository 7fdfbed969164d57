/**
 * Reconciliation against the platform's daily statement: every line of the statement of one day
 * and every one of our payments whose money moved that day, paired and classified. Pure: the
 * statement, our payments (ours.ts), the time of the run and the grace window come in.
 *
 * Our payments in scope for day D (China Standard Time): a charge recorded on D (our clock) or
 * settled on D (the platform's time, as it told us); money flagged on D; a refund recorded on D;
 * and any payment a line names.
 *
 * Classes:
 * - matched: both sides agree on the money (trade or refund, amount, status);
 * - late: still in flight at the day's edge, within the grace window: the platform lists a result
 *   we do not have yet and the line is younger than the window, or our record sits on a
 *   neighbouring day of the platform's statement, within the window of the platform's time (or,
 *   without it, within the window after the day began);
 * - missing_on_our_side: the platform took the money (or failed a trade) and we have no record;
 * - missing_at_platform: we recorded money the statement does not list;
 * - amount_differs: both took the money, for different amounts;
 * - status_differs: the two sides say different things happened (SUCCESS vs failed, another trade),
 *   or the statement lists one trade twice;
 * - refund_mismatch: a refund on one side only, or for a different amount, or listed twice;
 * - stranded: the platform took the money and we know it, but it has neither bought its goods nor gone
 *   back for longer than the stranded-money grace (24 h by default, as the audit): flagged and never
 *   reviewed, or a refund that never went through.
 * Only `matched` is agreement: the run exits 0 only when every item is matched.
 */
import { statementDay, type Statement } from '../../integrations/statement.ts';
import { DEFAULT_GRACE_MS } from '../audit/stranded-money.ts';
import type { OurPayment } from './ours.ts';

export const RECONCILE_CLASSES = [
  'matched',
  'late',
  'missing_on_our_side',
  'missing_at_platform',
  'amount_differs',
  'status_differs',
  'refund_mismatch',
  'stranded',
] as const;
export type ReconcileClass = (typeof RECONCILE_CLASSES)[number];

export type Item = {
  class: ReconcileClass;
  kind: 'trade' | 'refund';
  paymentId: string;
  orderId: string | null;
  tradeNo: string | null;
  refundNo: string | null;
  ours: { status: string; fen: number | null; at: string | null };
  theirs: { status: string; fen: number; fee: number; time: string; line: number } | null;
  detail: string;
};

export type DayReport = {
  day: string;
  graceMinutes: number;
  /** Statement lines, and our payments in scope for the day. */
  lines: number;
  payments: number;
  counts: Record<ReconcileClass, number>;
  /** The platform's totals for the day, fen. */
  totals: { trades: number; refunds: number; fees: number };
  items: Item[];
};

export type CompareInput = {
  day: string;
  statement: Statement;
  payments: ReadonlyMap<string, OurPayment>;
  now: Date;
  graceMs: number;
  /** How long taken money may wait for its review or refund before it counts as stranded; default DEFAULT_GRACE_MS (24 h). */
  strandedMs?: number;
};

type Line = Statement['lines'][number];

const theirsOf = (l: Line): NonNullable<Item['theirs']> => ({ status: l.status, fen: l.amount.value, fee: l.fee.value, time: l.time, line: l.lineNo });

const ms = (iso: string): number => Date.parse(iso);

/** A payment whose result we do not have yet (the platform may know more). */
const inFlight = (p: OurPayment): boolean => p.status === 'awaiting_confirmation' || p.status === 'confirmed' || p.status === 'submitted';

/** Our money, as the payment has it: the charge, or the flagged amount. */
const moneyOf = (p: OurPayment): { fen: number; tradeNo: string; at: string } | undefined => p.charge ?? p.flagged;

const classifyTrade = (l: Line, p: OurPayment | undefined, input: CompareInput): Pick<Item, 'class' | 'detail'> => {
  const young = input.now.getTime() - ms(l.time) <= input.graceMs;
  if (!p)
    return young
      ? { class: 'late', detail: 'no such payment here yet: its result may still be in flight' }
      : { class: 'missing_on_our_side', detail: 'no such payment in our log' };
  const money = moneyOf(p);
  if (l.status === 'SUCCESS') {
    if (money) {
      if (money.fen !== l.amount.value)
        return { class: 'amount_differs', detail: `we recorded ${money.fen} fen${p.flagged && !p.charge ? ' (flagged)' : ''}, the platform ${l.amount.value}` };
      if (l.tradeNo !== '' && money.tradeNo !== l.tradeNo)
        return { class: 'status_differs', detail: `paid by trade ${money.tradeNo} here, ${l.tradeNo} at the platform` };
      const waiting = p.status === 'flagged' || p.status === 'refunding';
      if (waiting && input.now.getTime() - ms(money.at) > (input.strandedMs ?? DEFAULT_GRACE_MS)) {
        return { class: 'stranded', detail: `taken ${money.at} and still ${p.status} here: neither the goods nor a refund` };
      }
      return { class: 'matched', detail: waiting ? `${p.status} here: ${p.status === 'flagged' ? 'under review' : 'the refund is under way'}` : '' };
    }
    if (inFlight(p))
      return young
        ? { class: 'late', detail: `${p.status} here: the result may still be in flight` }
        : { class: 'missing_on_our_side', detail: `the platform took the money; here the payment is still ${p.status}` };
    return { class: 'status_differs', detail: `the platform took the money; here the payment is ${p.status}` };
  }
  if (p.status === 'failed') return { class: 'matched', detail: '' };
  if (inFlight(p))
    return young
      ? { class: 'late', detail: `${p.status} here: the result may still be in flight` }
      : { class: 'status_differs', detail: `the platform says ${l.status}; here the payment is still ${p.status}` };
  return { class: 'status_differs', detail: `the platform says ${l.status}; here the payment is ${p.status}` };
};

const classifyRefundLine = (l: Line, p: OurPayment | undefined, input: CompareInput): Pick<Item, 'class' | 'detail'> => {
  const ours = p?.refunds.find((r) => r.refundNo === l.refundNo);
  if (ours)
    return ours.fen === l.amount.value
      ? { class: 'matched', detail: '' }
      : { class: 'refund_mismatch', detail: `we refunded ${ours.fen} fen, the platform ${l.amount.value}` };
  if (input.now.getTime() - ms(l.time) <= input.graceMs) return { class: 'late', detail: 'refunded at the platform; not recorded here yet' };
  return {
    class: 'refund_mismatch',
    detail: p ? `refunded at the platform, not recorded here (payment ${p.status})` : 'refunded at the platform for a payment we do not know',
  };
};

/**
 * Money we recorded that the day's statement does not list: on a neighbouring day within the window, or
 * missing. Without the platform's time (flagged money, refunds), a record within the window after the
 * day began may sit on the statement of the day before: it happened there a moment earlier.
 */
const unlisted = (ourAt: string, platformAt: string | undefined, day: string, graceMs: number, what: string): Pick<Item, 'class' | 'detail'> => {
  const theirDay = platformAt ? statementDay(platformAt) : day;
  if (platformAt && theirDay !== day && Math.abs(ms(ourAt) - ms(platformAt)) <= graceMs) {
    return { class: 'late', detail: `on the platform's statement of ${theirDay}: it happened there at ${platformAt}, here at ${ourAt}` };
  }
  const dayBegan = ms(`${day}T00:00:00.000+08:00`);
  if (!platformAt && ms(ourAt) - dayBegan <= graceMs) {
    return {
      class: 'late',
      detail: `${what} recorded here at ${ourAt}, just after the day began: it may be on the statement of ${statementDay(new Date(dayBegan - 1).toISOString())}`,
    };
  }
  return { class: what === 'refund' ? 'refund_mismatch' : 'missing_at_platform', detail: `${what} recorded here at ${ourAt}, not on the platform's statement` };
};

export const compareDay = (input: CompareInput): DayReport => {
  const { day, statement, payments } = input;
  const items: Item[] = [];
  const tradeSeen = new Set<string>();
  const refundSeen = new Set<string>();
  const totals = { trades: 0, refunds: 0, fees: 0 };

  /** Every line once: the same trade (or refund) listed twice would count its money twice. */
  const listed = new Set<string>();
  for (const l of statement.lines) {
    const p = payments.get(l.outTradeNo);
    const base = { paymentId: l.outTradeNo, orderId: p?.orderId ?? null, tradeNo: l.tradeNo || null, theirs: theirsOf(l) };
    // The platform's totals, as its statement lists them (a line listed twice counts twice there).
    totals.fees += l.fee.value;
    if (l.type === 'TRADE' && l.status === 'SUCCESS') totals.trades += l.amount.value;
    if (l.type === 'REFUND') totals.refunds += l.amount.value;
    const key = `${l.type}:${l.outTradeNo}:${l.type === 'TRADE' ? l.tradeNo : l.refundNo}`;
    if (listed.has(key)) {
      items.push({
        ...base,
        kind: l.type === 'TRADE' ? 'trade' : 'refund',
        refundNo: l.type === 'TRADE' ? null : l.refundNo,
        ours: { status: p?.status ?? 'none', fen: null, at: null },
        class: l.type === 'TRADE' ? 'status_differs' : 'refund_mismatch',
        detail: `listed twice on the platform's statement (line ${l.lineNo})`,
      });
      continue;
    }
    listed.add(key);
    if (l.type === 'TRADE') {
      tradeSeen.add(l.outTradeNo);
      const money = p && moneyOf(p);
      items.push({
        ...base,
        kind: 'trade',
        refundNo: null,
        ours: { status: p?.status ?? 'none', fen: money?.fen ?? null, at: money?.at ?? null },
        ...classifyTrade(l, p, input),
      });
    } else {
      refundSeen.add(`${l.outTradeNo}/${l.refundNo}`);
      const ours = p?.refunds.find((r) => r.refundNo === l.refundNo);
      items.push({
        ...base,
        kind: 'refund',
        refundNo: l.refundNo,
        ours: { status: p?.status ?? 'none', fen: ours?.fen ?? null, at: ours?.at ?? null },
        ...classifyRefundLine(l, p, input),
      });
    }
  }

  let inScope = new Set<string>(statement.lines.map((l) => l.outTradeNo));
  for (const p of payments.values()) {
    const base = { paymentId: p.paymentId, orderId: p.orderId, theirs: null };
    /** Money the payment took on the day (`what`: a charge or flagged money): in scope, and unlisted unless a trade line names the payment. */
    const tookOnTheDay = (m: { tradeNo: string; fen: number; at: string }, platformAt: string | undefined, what: string): void => {
      inScope.add(p.paymentId);
      if (tradeSeen.has(p.paymentId)) return;
      items.push({
        ...base,
        kind: 'trade',
        tradeNo: m.tradeNo,
        refundNo: null,
        ours: { status: p.status, fen: m.fen, at: m.at },
        ...unlisted(m.at, platformAt, day, input.graceMs, what),
      });
    };
    const c = p.charge;
    const f = p.flagged;
    // Flagged money an admin accepted moved once, on its flagged day: the acceptance is no new movement.
    const accepted = f !== undefined && c !== undefined && f.tradeNo === c.tradeNo;
    if (c && !accepted && (statementDay(c.at) === day || statementDay(c.platformAt) === day)) tookOnTheDay(c, c.platformAt, 'charge');
    if (f && statementDay(f.at) === day) tookOnTheDay(f, undefined, 'flagged money');
    for (const r of p.refunds) {
      if (statementDay(r.at) !== day) continue;
      inScope.add(p.paymentId);
      if (refundSeen.has(`${p.paymentId}/${r.refundNo}`)) continue;
      items.push({
        ...base,
        kind: 'refund',
        tradeNo: p.tradeNo ?? null,
        refundNo: r.refundNo,
        ours: { status: p.status, fen: r.fen, at: r.at },
        ...unlisted(r.at, undefined, day, input.graceMs, 'refund'),
      });
    }
  }
  inScope = new Set([...inScope].filter((id) => payments.has(id)));

  const counts = Object.fromEntries(RECONCILE_CLASSES.map((c) => [c, 0])) as Record<ReconcileClass, number>;
  for (const i of items) counts[i.class] += 1;
  return { day, graceMinutes: input.graceMs / 60_000, lines: statement.lines.length, payments: inScope.size, counts, totals, items };
};
