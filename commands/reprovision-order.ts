/** Customer service re-sends a paid or provisioned order's entitlement to BOSS (a new BOSS request). */
import { orderAggregate } from './aggregates.ts';
import type { LedgerDeps } from './deps.ts';
import { execute, type CommandContext } from './execute.ts';

export const reprovisionOrder = async (
  deps: LedgerDeps,
  orderId: string,
  ctx: Omit<CommandContext, 'commandKey'>,
): Promise<{ orderId: string; requestNo: number; status: 'requested' }> => {
  const r = await execute(deps, orderAggregate, { type: 'RequestReprovision', orderId, now: deps.now() }, { ...ctx, commandKey: `reprovision:${orderId}` });
  const requestNo = r.state.status === 'paid' || r.state.status === 'provisioned' ? r.state.lastRequestNo : 0;
  return { orderId, requestNo, status: 'requested' };
};
