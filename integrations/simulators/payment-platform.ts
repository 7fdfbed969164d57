/**
 * The payment platform simulator's core: implements PaymentPlatform in-process and backs the HTTP
 * simulator (http-server.ts). After a NEW createTrade it settles the trade and POSTs a signed
 * notification to notifyUrl, retrying until it gets HTTP 200 with body `success` (bounded attempts).
 *
 * Outcome rule: SUCCESS, except FAILED (failureReason INSUFFICIENT_BALANCE) when the msisdn ends with
 * one of `failMsisdnSuffixes` (default none; e.g. ['0004']).
 *
 * Daily statement (integrations/statement.ts): `statement(day)` lists every trade settled and every
 * refund made on that day (China Standard Time), with the platform's fee: FEE_PER_MILLE of each
 * successful trade, rounded half up to the fen; refunds carry no fee.
 *
 * Invariants: createTrade is idempotent by outTradeNo (same tradeNo, settled and notified once);
 * refund is idempotent by refundNo; every copy and retry of one notification carries the same
 * notificationId and body, freshly signed per attempt with every secret in `secrets`.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { sign } from '../signature.ts';
import { renderStatement, statementDay, type StatementLine } from '../statement.ts';
import type { CreateTradeRequest, Money, PaymentNotification, PaymentPlatform, RefundRequest, Trade, TradeStatus } from '../ports.ts';
import { createFaultState, defaultCommonFaults, simError, type CommonFaults } from './faults.ts';

export type PlatformFaults = CommonFaults & {
  /** Never send notifications created while set (they are listed with dropped: true): forces the query path. */
  dropNotifications: boolean;
  /** Copies sent of each notification (≥ 1); the first two concurrently, the rest one after another. */
  duplicateNotifications: number;
  /** One-shot: hold the next notification until another one has been delivered (or reorderMaxHoldMs). */
  reorderNext: boolean;
  /** Added to the amount the platform reports (notification and query) for trades settled while set. */
  amountMismatchFen: number;
  /** Outcome rule: an msisdn ending with any of these settles FAILED. */
  failMsisdnSuffixes: string[];
  /** Refunds made while set are accepted, not made: they answer PROCESSING this many times (the first included), then SUCCESS. */
  refundProcessingAnswers: number;
};

export const defaultPlatformFaults: PlatformFaults = {
  ...defaultCommonFaults,
  dropNotifications: false,
  duplicateNotifications: 1,
  reorderNext: false,
  amountMismatchFen: 0,
  failMsisdnSuffixes: [],
  refundProcessingAnswers: 0,
};

export type DeliverFn = (url: string, headers: Record<string, string>, body: string) => Promise<{ status: number; text: string }>;

export type PlatformSimulatorOptions = {
  /** Shared secrets: notifications are signed with all of them; requests verify against any. */
  secrets: string[];
  faults?: Partial<PlatformFaults>;
  /** Wait between createTrade and settling the trade; default 0. */
  processingDelayMs?: number;
  /** Delivery attempts per copy; default 6. */
  notifyMaxAttempts?: number;
  /** First wait between delivery attempts, doubling; default 200 ms. */
  notifyRetryBaseMs?: number;
  notifyTimeoutMs?: number;
  reorderMaxHoldMs?: number;
  now?: () => Date;
  /** How a notification is POSTed; default global fetch. */
  deliver?: DeliverFn;
};

export type SimTrade = CreateTradeRequest & {
  tradeNo: string;
  status: TradeStatus;
  /** What the platform reports (differs from `requestedAmount` under amountMismatchFen). */
  amount: Money;
  requestedAmount: Money;
  createdAt: string;
  paidAt?: string;
  /** When the trade left PROCESSING (SUCCESS, FAILED). */
  settledAt?: string;
  failureReason?: string;
  refundedFen: number;
};

/** The platform's fee on a successful trade: 6‰, as the big mobile platforms charge merchants. */
export const FEE_PER_MILLE = 6;
/** Half up, integer arithmetic only. */
export const feeOf = (fen: number): number => Math.floor((fen * FEE_PER_MILLE + 500) / 1000);

/** `createdAt`: when the money went back (SUCCESS), or when the refund was accepted (PROCESSING). */
export type SimRefund = RefundRequest & { status: 'SUCCESS' | 'PROCESSING'; createdAt: string; processingAnswersLeft: number };

export type DeliveryAttempt = { copy: number; attempt: number; httpStatus: number | null; accepted: boolean };

export type SentNotification = {
  notificationId: string;
  outTradeNo: string;
  notifyUrl: string;
  body: PaymentNotification;
  dropped: boolean;
  held: boolean;
  copies: number;
  attempts: DeliveryAttempt[];
  /** Some copy got 200 `success`. */
  delivered: boolean;
  /** Every copy is done (accepted, or out of attempts, or dropped). */
  finished: boolean;
};

export type PlatformSimulator = PaymentPlatform & {
  trades(): SimTrade[];
  refunds(): SimRefund[];
  notifications(): SentNotification[];
  faults(): PlatformFaults;
  setFaults(patch: unknown): PlatformFaults;
  /** The day's statement (CSV, integrations/statement.ts): trades settled and refunds made that day (UTC+8); undefined until the day has ended. */
  statement(day: string): string | undefined;
  /** Calls arrived and not answered yet, per operation. */
  inFlight(): Record<string, number>;
  /** Resolves once no trade is being settled and no notification is being delivered. */
  settled(): Promise<void>;
  /** Stops processing and deliveries; pending work is abandoned. */
  close(): void;
};

const SYSTEM = 'payment-platform';

const fetchDeliver =
  (timeoutMs: number): DeliverFn =>
  async (url, headers, body) => {
    const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  };

const sameMoney = (a: Money, b: Money) => a.value === b.value && a.currency === b.currency;

export function createPlatformSimulator(o: PlatformSimulatorOptions): PlatformSimulator {
  if (o.secrets.length === 0) throw new Error('platform simulator: at least one secret is required');
  const now = o.now ?? (() => new Date());
  const maxAttempts = o.notifyMaxAttempts ?? 6;
  const retryBaseMs = o.notifyRetryBaseMs ?? 200;
  const deliver = o.deliver ?? fetchDeliver(o.notifyTimeoutMs ?? 5_000);
  const shutdown = new AbortController();
  const faults = createFaultState(SYSTEM, { ...defaultPlatformFaults, ...o.faults }, shutdown.signal);
  const trades = new Map<string, SimTrade>();
  const refunds = new Map<string, SimRefund>();
  const sent: SentNotification[] = [];
  const inFlight = new Set<Promise<void>>();
  let releaseHeld: Array<() => void> = [];

  const track = (work: () => Promise<void>) => {
    const p = work().catch(() => {}); // abandoned on close(); delivery failures are recorded, not thrown
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const wait = (ms: number) => delay(ms, undefined, { signal: shutdown.signal });

  const tradeView = (t: SimTrade): Trade => ({ tradeNo: t.tradeNo, status: t.status, amount: t.amount, ...(t.paidAt ? { paidAt: t.paidAt } : {}) });

  async function deliverCopy(n: SentNotification, copy: number) {
    const body = JSON.stringify(n.body);
    for (let attempt = 1; attempt <= maxAttempts && !shutdown.signal.aborted; attempt++) {
      const headers = { 'content-type': 'application/json', 'x-platform-signature': sign(o.secrets, body, now().getTime() / 1000) };
      let httpStatus: number | null = null;
      let accepted = false;
      try {
        const res = await deliver(n.notifyUrl, headers, body);
        httpStatus = res.status;
        accepted = res.status === 200 && res.text.trim() === 'success';
      } catch {
        // network error or timeout: recorded as httpStatus null, retried
      }
      n.attempts.push({ copy, attempt, httpStatus, accepted });
      if (accepted) {
        n.delivered = true;
        return;
      }
      if (attempt < maxAttempts) await wait(retryBaseMs * 2 ** (attempt - 1));
    }
  }

  async function notify(trade: SimTrade) {
    const f = faults.get();
    const body: PaymentNotification = {
      notificationId: `N${randomUUID().replaceAll('-', '')}`,
      tradeNo: trade.tradeNo,
      outTradeNo: trade.outTradeNo,
      status: trade.status === 'SUCCESS' ? 'SUCCESS' : 'FAILED',
      amount: trade.amount,
      ...(trade.paidAt ? { paidAt: trade.paidAt } : {}),
      ...(trade.failureReason ? { failureReason: trade.failureReason } : {}),
    };
    const n: SentNotification = {
      notificationId: body.notificationId,
      outTradeNo: trade.outTradeNo,
      notifyUrl: trade.notifyUrl,
      body,
      dropped: f.dropNotifications,
      held: !f.dropNotifications && f.reorderNext,
      copies: Math.max(1, f.duplicateNotifications),
      attempts: [],
      delivered: false,
      finished: f.dropNotifications,
    };
    sent.push(n);
    if (n.dropped) return;
    if (n.held) {
      faults.set({ reorderNext: false });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, o.reorderMaxHoldMs ?? 5_000);
        releaseHeld.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const copies = Array.from({ length: n.copies }, (_, i) => i + 1);
    await Promise.all(copies.slice(0, 2).map((c) => deliverCopy(n, c)));
    for (const c of copies.slice(2)) await deliverCopy(n, c);
    n.finished = true;
    if (!n.held) {
      const held = releaseHeld;
      releaseHeld = [];
      for (const release of held) release();
    }
  }

  async function settle(trade: SimTrade) {
    if (o.processingDelayMs) await wait(o.processingDelayMs);
    const f = faults.get();
    const fails = f.failMsisdnSuffixes.some((suffix) => suffix !== '' && trade.msisdn.endsWith(suffix));
    trade.amount = { ...trade.requestedAmount, value: trade.requestedAmount.value + f.amountMismatchFen };
    trade.settledAt = now().toISOString();
    if (fails) {
      trade.status = 'FAILED';
      trade.failureReason = 'INSUFFICIENT_BALANCE';
    } else {
      trade.status = 'SUCCESS';
      trade.paidAt = trade.settledAt;
    }
    await notify(trade);
  }

  return {
    createTrade: (req) =>
      faults.run('POST /trades', () => {
        const existing = trades.get(req.outTradeNo);
        if (existing) {
          if (!sameMoney(existing.requestedAmount, req.amount) || existing.msisdn !== req.msisdn)
            throw simError(SYSTEM, 'POST /trades', 422, 'outTradeNo reused with a different amount or payer');
          return { tradeNo: existing.tradeNo, status: 'PROCESSING' as const };
        }
        const trade: SimTrade = {
          ...req,
          amount: { ...req.amount },
          requestedAmount: { ...req.amount },
          tradeNo: `T${randomUUID().replaceAll('-', '').slice(0, 24)}`,
          status: 'PROCESSING',
          createdAt: now().toISOString(),
          refundedFen: 0,
        };
        trades.set(req.outTradeNo, trade);
        track(() => settle(trade));
        return { tradeNo: trade.tradeNo, status: 'PROCESSING' as const };
      }),

    queryTrade: (outTradeNo) =>
      faults.run('GET /trades/{outTradeNo}', () => {
        const trade = trades.get(outTradeNo);
        return trade ? tradeView(trade) : null;
      }),

    refund: (req) =>
      faults.run('POST /refunds', () => {
        const op = 'POST /refunds';
        const existing = refunds.get(req.refundNo);
        if (existing) {
          if (existing.outTradeNo !== req.outTradeNo || !sameMoney(existing.amount, req.amount))
            throw simError(SYSTEM, op, 422, 'refundNo reused with a different trade or amount');
          if (existing.status === 'PROCESSING' && --existing.processingAnswersLeft <= 0) {
            existing.status = 'SUCCESS';
            existing.createdAt = now().toISOString();
          }
          return { refundNo: existing.refundNo, status: existing.status };
        }
        const trade = trades.get(req.outTradeNo);
        if (!trade) throw simError(SYSTEM, op, 404, 'unknown outTradeNo');
        if (trade.status !== 'SUCCESS') throw simError(SYSTEM, op, 422, `trade is ${trade.status}`);
        if (req.amount.currency !== trade.amount.currency || req.amount.value <= 0 || req.amount.value > trade.amount.value - trade.refundedFen)
          throw simError(SYSTEM, op, 422, 'refund amount exceeds what is left');
        trade.refundedFen += req.amount.value;
        const processing = faults.get().refundProcessingAnswers;
        const refund: SimRefund = {
          ...req,
          amount: { ...req.amount },
          status: processing > 0 ? 'PROCESSING' : 'SUCCESS',
          createdAt: now().toISOString(),
          processingAnswersLeft: processing,
        };
        refunds.set(req.refundNo, refund);
        return { refundNo: refund.refundNo, status: refund.status };
      }),

    statement(day) {
      // Published once the day has ended in China Standard Time (16:00 UTC).
      if (now().toISOString() < `${day}T16:00:00.000Z`) return undefined;
      const lines: StatementLine[] = [];
      for (const t of trades.values()) {
        if (t.status === 'PROCESSING' || !t.settledAt || statementDay(t.settledAt) !== day) continue;
        const fee = t.status === 'SUCCESS' ? feeOf(t.amount.value) : 0;
        lines.push({
          tradeNo: t.tradeNo,
          outTradeNo: t.outTradeNo,
          refundNo: '',
          type: 'TRADE',
          amount: t.amount,
          fee: { value: fee, currency: 'CNY' },
          status: t.status,
          time: t.settledAt,
        });
      }
      for (const r of refunds.values()) {
        if (r.status !== 'SUCCESS' || statementDay(r.createdAt) !== day) continue;
        const trade = trades.get(r.outTradeNo);
        lines.push({
          tradeNo: trade?.tradeNo ?? '',
          outTradeNo: r.outTradeNo,
          refundNo: r.refundNo,
          type: 'REFUND',
          amount: r.amount,
          fee: { value: 0, currency: 'CNY' },
          status: 'SUCCESS',
          time: r.createdAt,
        });
      }
      return renderStatement(day, lines);
    },

    trades: () => [...trades.values()].map((t) => structuredClone(t)),
    refunds: () => [...refunds.values()].map((r) => structuredClone(r)),
    notifications: () => sent.map((n) => structuredClone(n)),
    faults: () => faults.get(),
    setFaults: (patch) => faults.set(patch),
    inFlight: () => faults.inFlight(),
    async settled() {
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
    close() {
      shutdown.abort();
      for (const release of releaseHeld) release();
      releaseHeld = [];
    },
  };
}
