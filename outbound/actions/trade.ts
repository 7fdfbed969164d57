/**
 * Creates the trade at the payment platform for a confirmed payment (outTradeNo = paymentId).
 *
 * An attempt that timed out may have reached the platform, so every later attempt asks first
 * (GET /trades/{outTradeNo}) and never guesses: a trade found is recorded with its result; a trade
 * not found is created again (idempotent by outTradeNo) until the payment's deadline; only when the
 * platform still has no trade after the deadline and a grace period — when it can no longer be
 * created — does the payment fail, as `trade_not_created`.
 */
import type { LedgerDeps } from '../../commands/deps.ts';
import { paymentAggregate } from '../../commands/aggregates.ts';
import { execute } from '../../commands/execute.ts';
import { recordPlatformResult } from '../../commands/record-platform-result.ts';
import type { PaymentPlatform, Trade } from '../../integrations/ports.ts';
import { contextFor, done, loadPayment, phoneOf, type Action } from '../action.ts';
import type { Outcome } from '../decide.ts';
import type { TaskSpec } from '../task.ts';

export type TradeDeps = {
  ledger: LedgerDeps;
  platform: PaymentPlatform;
  notifyUrl: string;
  /** How long after the payment's deadline a trade that was never found counts as never created. */
  notCreatedGraceSeconds: number;
};

export const tradeAction =
  (deps: TradeDeps): Action =>
  async (attempt) => {
    const { spec } = attempt;
    const p = await loadPayment(deps.ledger.store, spec.paymentId);
    if (p.status !== 'confirmed') return done(`payment ${p.status}`);
    /** No trade will ever exist for this payment: it fails, and no money moved. */
    const notCreated = async (detail: string, outcome: string): Promise<Outcome> => {
      await execute(
        deps.ledger,
        paymentAggregate,
        { type: 'RecordTradeNotCreated', paymentId: p.paymentId, detail, now: attempt.now() },
        contextFor(spec, 'trade-not-created'),
      );
      return done(outcome);
    };
    // No attempt was ever claimed, so no call ever reached the platform: past the deadline it would refuse the trade.
    if (attempt.state.attempts === 0 && attempt.now().getTime() >= Date.parse(p.payBy)) {
      return notCreated('the payment deadline passed before the trade could be created', 'the payment deadline passed first');
    }
    // A later attempt asks before it creates: two calls.
    await attempt.claim({ calls: attempt.state.attempts > 0 ? 2 : 1 });
    if (attempt.state.attempts > 0) {
      const found = await deps.platform.queryTrade(p.paymentId);
      if (found) return recordFound(deps, spec, found);
      const now = attempt.now().getTime();
      const payBy = Date.parse(p.payBy);
      if (now >= payBy + deps.notCreatedGraceSeconds * 1000) {
        return notCreated('the platform has no trade for this payment after its deadline', 'the platform never created the trade');
      }
      // Past the deadline the platform refuses new trades: only ask again, until the grace ends.
      if (now >= payBy) return { kind: 'later', reason: 'no trade at the platform yet', afterMs: payBy + deps.notCreatedGraceSeconds * 1000 - now };
      attempt.fence();
    }
    const msisdn = await phoneOf(deps.ledger, p.msisdn, p.orderId);
    // Only an order placed in the very moment of its subscriber's erasure gets here: no trade can be made without the number.
    if (msisdn === undefined) return notCreated("the subscriber's phone number was erased", 'the phone number was erased');
    const trade = await deps.platform.createTrade({
      outTradeNo: p.paymentId,
      amount: p.amount,
      msisdn,
      subject: p.subject,
      notifyUrl: deps.notifyUrl,
      expiresAt: p.payBy,
    });
    await execute(
      deps.ledger,
      paymentAggregate,
      { type: 'RecordTradeCreated', paymentId: p.paymentId, tradeNo: trade.tradeNo, now: attempt.now() },
      contextFor(spec, 'trade'),
    );
    return done(`trade ${trade.tradeNo}`);
  };

/** The platform has the trade: record it, and its result if it has one. */
const recordFound = async (deps: TradeDeps, spec: TaskSpec, trade: Trade): Promise<Outcome> => {
  const now = deps.ledger.now();
  await execute(
    deps.ledger,
    paymentAggregate,
    { type: 'RecordTradeCreated', paymentId: spec.paymentId, tradeNo: trade.tradeNo, now },
    contextFor(spec, 'trade'),
  );
  if (trade.status !== 'PROCESSING') await recordQueried(deps.ledger, spec, trade);
  return done(`trade ${trade.tradeNo} found, ${trade.status}`);
};

/** A result learned by asking the platform. The notification id names the trade and its status, so asking twice records once. */
export const recordQueried = (ledger: LedgerDeps, spec: TaskSpec, trade: Trade): Promise<void> =>
  recordPlatformResult(
    ledger,
    {
      paymentId: spec.paymentId,
      source: 'query',
      notificationId: `query:${trade.tradeNo}:${trade.status}`,
      tradeNo: trade.tradeNo,
      status: trade.status,
      amount: trade.amount,
      ...(trade.paidAt !== undefined && { paidAt: new Date(trade.paidAt).toISOString() }),
    },
    contextFor(spec, 'query'),
  );
