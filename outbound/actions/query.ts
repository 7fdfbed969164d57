/**
 * Asks the payment platform about a trade whose result is late (no notification). PROCESSING or not
 * found yet: ask again later, until the policy's deadline — an unknown outcome is never guessed.
 */
import type { LedgerDeps } from '../../commands/deps.ts';
import type { PaymentPlatform } from '../../integrations/ports.ts';
import { done, loadPayment, type Action } from '../action.ts';
import { recordQueried } from './trade.ts';

export const queryAction =
  (deps: { ledger: LedgerDeps; platform: PaymentPlatform }): Action =>
  async (attempt) => {
    const p = await loadPayment(deps.ledger.store, attempt.spec.paymentId);
    if (p.status !== 'confirmed' && p.status !== 'submitted') return done(`payment ${p.status}`);
    await attempt.claim();
    const trade = await deps.platform.queryTrade(p.paymentId);
    if (!trade) return { kind: 'later', reason: 'trade not found yet' };
    if (trade.status === 'PROCESSING') return { kind: 'later', reason: 'trade still processing' };
    await recordQueried(deps.ledger, attempt.spec, trade);
    return done(`platform says ${trade.status}`);
  };
