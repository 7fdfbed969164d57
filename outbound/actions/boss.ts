/**
 * Opens the channels at BOSS (requestId = task id). A renewal of a package still active on the card
 * starts where the current one ends; the dates chosen by the first attempt are recorded with its claim
 * and sent again by every retry (BOSS keeps the first request for a requestId). A 422 is BOSS's final
 * refusal: provisioning failed, which the workflow answers with a refund.
 */
import type { LedgerDeps } from '../../commands/deps.ts';
import { orderAggregate } from '../../commands/aggregates.ts';
import { execute } from '../../commands/execute.ts';
import { OutboundError, type Boss } from '../../integrations/ports.ts';
import type { ReadStore } from '../../stores/read-store.ts';
import { ENTITLEMENTS, entitlementId } from '../../projections/entitlements.ts';
import { contextFor, done, loadOrder, type Action } from '../action.ts';

export type BossDeps = {
  ledger: LedgerDeps;
  boss: Boss;
  reads: Pick<ReadStore, 'get'>;
  /** Resolves once the entitlements read model holds everything recorded so far. */
  entitlementsCaughtUp(): Promise<void>;
};

const addDays = (iso: string, days: number): string => new Date(Date.parse(iso) + days * 86_400_000).toISOString();

export const bossAction =
  (deps: BossDeps): Action =>
  async (attempt) => {
    const { spec } = attempt;
    const o = await loadOrder(deps.ledger.store, spec.orderId);
    if (o.status !== 'paid' && o.status !== 'provisioned') return done(`order ${o.status}`);
    if (o.status === 'provisioned' && o.provisionedRequestNo >= spec.seq) return done('already provisioned');
    let validFrom = attempt.state.sent?.validFrom;
    let validUntil = attempt.state.sent?.validUntil;
    if (!validFrom || !validUntil) {
      if (o.status === 'provisioned') {
        // A reprovision re-sends what the card already has.
        validFrom = o.validFrom;
        validUntil = o.validUntil;
      } else {
        // Everything recorded so far, including the previous request of this entitlement (one runs at a time).
        await deps.entitlementsCaughtUp();
        const current = await deps.reads.get(ENTITLEMENTS, entitlementId(o.smartcardId, o.product.productId));
        const currentEnd = typeof current?.validUntil === 'string' ? current.validUntil : undefined;
        // Our time of record, never the platform's paidAt.
        validFrom = currentEnd && currentEnd > o.paidAt ? currentEnd : o.paidAt;
        validUntil = addDays(validFrom, o.product.periodDays);
      }
    }
    await attempt.claim({ sent: { validFrom, validUntil } });
    try {
      const opened = await deps.boss.openEntitlement({
        requestId: spec.id,
        subscriberId: o.subscriberId,
        smartcardId: o.smartcardId,
        productId: o.product.productId,
        channels: [...o.product.channels],
        validFrom,
        validUntil,
      });
      await execute(
        deps.ledger,
        orderAggregate,
        { type: 'MarkProvisioned', orderId: o.orderId, requestNo: spec.seq, bossRef: opened.bossRef, validFrom, validUntil, now: attempt.now() },
        contextFor(spec, 'provisioned'),
      );
      return done(`bossRef ${opened.bossRef}`);
    } catch (error) {
      if (!(error instanceof OutboundError) || error.kind !== 'final') throw error;
      await execute(
        deps.ledger,
        orderAggregate,
        { type: 'MarkProvisioningFailed', orderId: spec.orderId, requestNo: spec.seq, reason: error.message, now: attempt.now() },
        contextFor(spec, 'provisioning-failed'),
      );
      return { kind: 'refused', error: error.message };
    }
  };
