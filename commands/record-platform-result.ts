/**
 * Patent step 4: the payment platform's result, from a signed notification or from
 * our query when the notification is late. Sent at least once, in any order, maybe
 * concurrently: the command key is the notification's id and content, so identical
 * copies racing each other write the same event ids once.
 *
 * The platform's paidAt is recorded, never trusted: our clock dates the payment (PaymentSucceeded.at),
 * and a paidAt far from it is reported as a partner clock skew.
 */
import type { RecordPlatformResult } from '../domain/payment/decide.ts';
import { paymentAggregate } from './aggregates.ts';
import type { LedgerDeps } from './deps.ts';
import { execute, type CommandContext } from './execute.ts';
import { followUpInline } from './follow-up.ts';
import { digestOf } from './ids.ts';

export type PlatformResult = Omit<RecordPlatformResult, 'type' | 'now'>;

export const recordPlatformResult = async (deps: LedgerDeps, result: PlatformResult, ctx: Omit<CommandContext, 'commandKey'>): Promise<void> => {
  const now = deps.now();
  if (result.paidAt !== undefined && deps.partnerClockSkewSeconds !== undefined) {
    const skewSeconds = Math.round((Date.parse(result.paidAt) - now.getTime()) / 1000);
    if (Math.abs(skewSeconds) > deps.partnerClockSkewSeconds) {
      deps.onClockSkew?.({ partner: 'payment-platform', paymentId: result.paymentId, source: result.source, skewSeconds });
    }
  }
  const executed = await execute(
    deps,
    paymentAggregate,
    { type: 'RecordPlatformResult', ...result, now },
    { ...ctx, commandKey: `platform-result:${result.notificationId}:${digestOf(result)}` },
  );
  await followUpInline(deps, executed.appended);
};
