/**
 * Returns money at the payment platform (refundNo = refund-<orderId>, one refund per payment): money
 * the workflow asked to refund (PaymentRefundRequested), or — for tasks scheduled before refunds were
 * requested on the payment — a succeeded payment whose order's provisioning failed.
 */
import type { LedgerDeps } from '../../commands/deps.ts';
import { paymentAggregate } from '../../commands/aggregates.ts';
import { execute } from '../../commands/execute.ts';
import { followUpInline } from '../../commands/follow-up.ts';
import { paymentIdFor } from '../../commands/ids.ts';
import { refundNoFor } from '../../domain/payment/payment.ts';
import type { Money } from '../../domain/money.ts';
import type { PaymentPlatform } from '../../integrations/ports.ts';
import { contextFor, done, loadOrder, loadPayment, type Action } from '../action.ts';

export const refundAction =
  (deps: { ledger: LedgerDeps; platform: PaymentPlatform }): Action =>
  async (attempt) => {
    const { spec } = attempt;
    const p = await loadPayment(deps.ledger.store, spec.paymentId || paymentIdFor(spec.orderId));
    if (p.status === 'none') return done('no such payment');
    if (p.status === 'refunded') return done('already refunded');
    let amount: Money;
    if (p.status === 'refunding') amount = p.refund;
    else if (p.status === 'succeeded' && (await loadOrder(deps.ledger.store, p.orderId)).status === 'provisioning_failed') amount = p.charged;
    else return done(`payment ${p.status}`);
    await attempt.claim();
    const refundNo = refundNoFor(p.orderId);
    const r = await deps.platform.refund({ outTradeNo: p.paymentId, refundNo, amount });
    if (r.refundNo !== refundNo) return { kind: 'retry', error: 'the platform answered for another refundNo' };
    // Accepted, not made: the money has not moved yet. Asked again with the same refundNo until SUCCESS, or the deadline.
    if (r.status === 'PROCESSING') return { kind: 'later', reason: 'refund still processing at the platform' };
    const recorded = await execute(
      deps.ledger,
      paymentAggregate,
      { type: 'RecordRefund', paymentId: p.paymentId, refundNo, amount, now: attempt.now() },
      contextFor(spec, 'refund'),
    );
    await followUpInline(deps.ledger, recorded.appended);
    return done(`refund ${refundNo} ${r.status}`);
  };
