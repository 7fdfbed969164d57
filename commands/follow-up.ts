/**
 * Runs the workflow's follow-ups (commands/workflow.ts) for a stored event. The same event may be
 * followed up more than once — inline after the command that wrote it, and by the process reactor —
 * and every run resends the same event ids (the command key is the event's id), so the store keeps one.
 */
import type { Actor, NewEvent } from '../stores/event-store.ts';
import { readOrderEvent } from '../domain/order/order.ts';
import { readPaymentEvent } from '../domain/payment/payment.ts';
import { orderAggregate, paymentAggregate } from './aggregates.ts';
import type { LedgerDeps } from './deps.ts';
import { execute, type CommandContext } from './execute.ts';
import { react, type FollowUp, type LedgerEvent } from './workflow.ts';

export const PROCESS_ACTOR: Actor = { role: 'system', client: 'process' };

/** Context for a command caused by an event: same correlation, caused by the event, keyed by it. */
export const causedBy = (event: Pick<NewEvent, 'id' | 'metadata'>, actor: Actor, step: string): CommandContext => ({
  correlationId: event.metadata.correlationId,
  causationId: event.id,
  actor,
  commandKey: `${step}:${event.id}`,
});

const ledgerEvent = (event: Pick<NewEvent, 'type' | 'data'>): LedgerEvent | undefined => readOrderEvent(event) ?? readPaymentEvent(event);

const run = async (deps: LedgerDeps, f: FollowUp, ctx: CommandContext): Promise<void> => {
  try {
    if (f.to === 'order') await execute(deps, orderAggregate, f.cmd, ctx);
    else await execute(deps, paymentAggregate, f.cmd, ctx);
  } catch (err) {
    if (!f.otherwise || !(err instanceof f.otherwise.when)) throw err;
    await run(deps, f.otherwise.then, { ...ctx, commandKey: `${ctx.commandKey}:otherwise` });
  }
};

/** Runs every follow-up of the event, in order. A refusal not declared by the workflow is thrown. */
export const followUp = async (deps: LedgerDeps, event: NewEvent): Promise<void> => {
  const e = ledgerEvent(event);
  if (!e) return;
  const steps = react(e, { now: deps.now(), codeTtlSeconds: deps.codeTtlSeconds });
  for (const [i, step] of steps.entries()) await run(deps, step, causedBy(event, PROCESS_ACTOR, i === 0 ? 'follow' : `follow-${i}`));
};

/**
 * Right after a command, for a quick answer: what the command already wrote stays written whatever
 * happens here, so a failure is reported and left to the process reactor, never thrown at the caller
 * (an answer of 500 must never mean "applied").
 */
export const followUpInline = async (deps: LedgerDeps, events: readonly NewEvent[]): Promise<void> => {
  for (const e of events) {
    try {
      await followUp(deps, e);
    } catch (err) {
      deps.onFollowUpFailed?.(e, err);
    }
  }
};
