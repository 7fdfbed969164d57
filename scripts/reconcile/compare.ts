/**
 * The nightly reconciliation: replays the log (like scripts/audit/verify-ledger.ts), folds every
 * payment with the service's own decider, asks the payment platform about every payment that
 * reached it or should have (GET /trades/{outTradeNo}), and classifies each pair.
 *
 * Classes (ours ↔ theirs):
 * - matched: succeeded/refunded ↔ SUCCESS of the same amount; failed ↔ FAILED/CLOSED, or no trade
 *   (the trade was refused at creation); flagged ↔ SUCCESS of the amount we recorded as reported
 *   (the flag itself is the audit's business: it is already kept for review and refund);
 * - pending: submitted (or confirmed) ↔ PROCESSING, or confirmed ↔ no trade yet: still in flight;
 * - missing_at_platform: succeeded/refunded/flagged/submitted ↔ no trade at all;
 * - platform_paid_we_did_not: SUCCESS ↔ confirmed/submitted/failed: money taken, no order paid;
 * - amount_differs: both sides say the money moved, for different amounts;
 * - status_differs: any other pair (e.g. FAILED ↔ succeeded, PROCESSING ↔ failed);
 * - stranded: SUCCESS ↔ flagged or refunding for longer than the grace period: money taken that has
 *   neither bought its goods nor gone back (within the grace period, a refund or review in flight is pending).
 * Every class but matched and pending is a discrepancy.
 *
 * Invariants: read-only on both sides (only queryTrade is called); a report never holds a phone
 * number (payments carry one: only ids, statuses and fen are copied out); a query that still fails
 * after its retries is listed as unchecked, never silently counted as matched.
 */
import { evolvePayment, initialPayment, readPaymentEvent, type Payment, type PaymentStatus } from '../../domain/payment/payment.ts';
import { OutboundError, type PaymentPlatform, type Trade, type TradeStatus } from '../../integrations/ports.ts';
import { withRetry } from '../../integrations/retry.ts';
import { readLog, type EventStore } from '../../stores/event-store.ts';
import { DEFAULT_GRACE_MS, moneyMovedAt } from '../audit/stranded-money.ts';

export const RECONCILE_CLASSES = ['matched', 'pending', 'missing_at_platform', 'platform_paid_we_did_not', 'amount_differs', 'status_differs', 'stranded'] as const;
export type ReconcileClass = (typeof RECONCILE_CLASSES)[number];
export type DiscrepancyClass = Exclude<ReconcileClass, 'matched' | 'pending'>;

export type Discrepancy = {
  class: DiscrepancyClass;
  paymentId: string;
  orderId: string;
  ours: PaymentStatus;
  /** The platform's trade status, or 'none' when it has no such trade. */
  theirs: TradeStatus | 'none';
  /** What we charge (or, for a flagged payment, what the platform reported to us), in fen. */
  ourFen: number;
  /** What the platform says, in fen; null when it has no such trade. */
  theirFen: number | null;
  tradeNo: string | null;
};

/** A payment the platform could not be asked about (its query failed after the retries). */
export type Unchecked = { paymentId: string; orderId: string; ours: PaymentStatus; error: string };

export type Report = {
  events: number;
  /** Payments in the log, and how many of them were compared with the platform. */
  payments: number;
  checked: number;
  counts: Record<ReconcileClass, number>;
  /** In log order (the order the payments were requested). */
  discrepancies: Discrepancy[];
  unchecked: Unchecked[];
};

export type ReconcileOptions = {
  /** Queries in flight at once; default 4. */
  concurrency?: number;
  /** Reconcile's "now" and how long a review or refund may be in flight before it counts as stranded (default 24 h). */
  now?: Date;
  graceMs?: number;
  /** Retries of a query on a retryable OutboundError: default 3 attempts, 200 ms base (withRetry). */
  retry?: { maxAttempts?: number; baseMs?: number; sleep?: (ms: number) => Promise<void> };
};

type Known = Exclude<Payment, { status: 'none' }>;

/** Statuses where the platform has, or should have, a trade; failed only when the platform said so. */
const reachedPlatform = (p: Payment): p is Known =>
  p.status === 'confirmed' ||
  p.status === 'submitted' ||
  p.status === 'succeeded' ||
  p.status === 'refunded' ||
  p.status === 'refunding' ||
  p.status === 'flagged' ||
  (p.status === 'failed' && p.reason.startsWith('platform_'));

/** The money we think moved: what we charged, or for a flagged payment what the platform told us. */
const ourFen = (p: Known): number =>
  p.status === 'flagged' ? p.reported.value : p.status === 'refunding' ? p.refund.value : p.status === 'succeeded' ? p.charged.value : p.amount.value;

/**
 * The pure part: one payment and the platform's answer → its class. `overdue`: the money moved longer
 * than the grace period ago (a review or a refund should have finished by then).
 */
export const classify = (p: Known, trade: Trade | null, overdue = false): ReconcileClass => {
  const paid = p.status === 'succeeded' || p.status === 'refunded' || p.status === 'flagged' || p.status === 'refunding';
  if (trade === null) {
    if (p.status === 'confirmed') return 'pending'; // the trade is not created yet
    if (p.status === 'failed') return 'matched'; // the platform refused to create it
    return 'missing_at_platform';
  }
  switch (trade.status) {
    case 'SUCCESS':
      if (!paid) return 'platform_paid_we_did_not';
      if (trade.amount.value !== ourFen(p) || trade.amount.currency !== p.amount.currency) return 'amount_differs';
      if (p.status === 'flagged' || p.status === 'refunding') return overdue ? 'stranded' : 'pending';
      return 'matched';
    case 'FAILED':
    case 'CLOSED':
      return p.status === 'failed' ? 'matched' : 'status_differs';
    case 'PROCESSING':
      return p.status === 'submitted' || p.status === 'confirmed' ? 'pending' : 'status_differs';
  }
};

const replayPayments = async (store: EventStore): Promise<{ events: number; payments: Map<string, Payment>; movedAt: Map<string, string> }> => {
  const payments = new Map<string, Payment>();
  const movedAt = new Map<string, string>();
  let events = 0;
  for await (const e of readLog(store)) {
    events++;
    if (!e.streamId.startsWith('payment-')) continue;
    const event = readPaymentEvent(e);
    if (!event) continue; // unknown types are the audit's to report
    const id = e.streamId.slice('payment-'.length);
    payments.set(id, evolvePayment(payments.get(id) ?? initialPayment, event));
    const moved = moneyMovedAt(event);
    if (moved !== undefined) movedAt.set(id, moved);
  }
  return { events, payments, movedAt };
};

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
const mapBounded = async <T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> => {
  const results = new Array<R>(items.length);
  const queue = items.entries(); // shared by the workers: each item is taken exactly once
  const worker = async () => {
    for (const [i, item] of queue) results[i] = await fn(item);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
};

export const reconcile = async (store: EventStore, platform: PaymentPlatform, opts: ReconcileOptions = {}): Promise<Report> => {
  const { events, payments, movedAt } = await replayPayments(store);
  const now = (opts.now ?? new Date()).getTime();
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  const toCheck = [...payments.values()].filter(reachedPlatform);
  const retry = {
    maxAttempts: opts.retry?.maxAttempts ?? 3,
    baseMs: opts.retry?.baseMs ?? 200,
    ...(opts.retry?.sleep && { sleep: opts.retry.sleep }),
  };
  const answers = await mapBounded(toCheck, opts.concurrency ?? 4, async (p) => {
    try {
      return { ok: true as const, trade: await withRetry(() => platform.queryTrade(p.paymentId), retry) };
    } catch (err) {
      // OutboundError messages are safe to print (ports.ts); anything else is reduced to its name.
      return { ok: false as const, error: err instanceof OutboundError ? err.message : err instanceof Error ? err.name : 'unknown error' };
    }
  });

  const counts: Record<ReconcileClass, number> = {
    matched: 0, pending: 0, missing_at_platform: 0, platform_paid_we_did_not: 0, amount_differs: 0, status_differs: 0, stranded: 0,
  };
  const discrepancies: Discrepancy[] = [];
  const unchecked: Unchecked[] = [];
  toCheck.forEach((p, i) => {
    const answer = answers[i];
    if (!answer) return;
    if (!answer.ok) {
      unchecked.push({ paymentId: p.paymentId, orderId: p.orderId, ours: p.status, error: answer.error });
      return;
    }
    const { trade } = answer;
    const moved = movedAt.get(p.paymentId);
    const c = classify(p, trade, moved !== undefined && now - Date.parse(moved) >= graceMs);
    counts[c]++;
    if (c === 'matched' || c === 'pending') return;
    discrepancies.push({
      class: c,
      paymentId: p.paymentId,
      orderId: p.orderId,
      ours: p.status,
      theirs: trade?.status ?? 'none',
      ourFen: ourFen(p),
      theirFen: trade?.amount.value ?? null,
      tradeNo: trade?.tradeNo ?? ('tradeNo' in p && p.tradeNo !== '' ? p.tradeNo : null),
    });
  });
  return { events, payments: payments.size, checked: toCheck.length - unchecked.length, counts, discrepancies, unchecked };
};
