/** The open platform or customer service cancels an order still waiting for confirmation. */
import type { Order } from '../domain/order/order.ts';
import { orderAggregate } from './aggregates.ts';
import type { LedgerDeps } from './deps.ts';
import { execute, type CommandContext } from './execute.ts';
import { followUpInline } from './follow-up.ts';

export const cancelOrder = async (deps: LedgerDeps, orderId: string, ctx: Omit<CommandContext, 'commandKey'>): Promise<Order> => {
  const result = await execute(
    deps,
    orderAggregate,
    { type: 'CancelOrder', orderId, reason: 'customer', now: deps.now() },
    { ...ctx, commandKey: `cancel:${orderId}` },
  );
  await followUpInline(deps, result.appended);
  return result.state;
};
