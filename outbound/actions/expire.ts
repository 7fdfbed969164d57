/** The order's payment deadline: an order still unconfirmed expires (its payment is voided by the workflow). */
import type { LedgerDeps } from '../../commands/deps.ts';
import { orderAggregate } from '../../commands/aggregates.ts';
import { execute } from '../../commands/execute.ts';
import { followUpInline } from '../../commands/follow-up.ts';
import { contextFor, done, type Action } from '../action.ts';

export const expireAction =
  (deps: { ledger: LedgerDeps }): Action =>
  async ({ spec, now }) => {
    const r = await execute(deps.ledger, orderAggregate, { type: 'ExpireOrder', orderId: spec.orderId, now: now() }, contextFor(spec, 'expire'));
    await followUpInline(deps.ledger, r.appended);
    return done(r.events.length > 0 ? 'expired' : `order ${r.state.status}`);
  };
