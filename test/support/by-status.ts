/**
 * A decider spec's outcomes, status by status (test code only): events, "already so", refusals.
 * `reach` holds a history that folds into each status; each call writes one `it` per status listed.
 *
 *   const inStatus = byStatus(order, reach, 'order', { orderId });
 *   inStatus.addsNothing(['paid', 'refunded'], markPaid(), 'a duplicate on a %s order adds nothing');
 *   inStatus.refuses(inStatus.except('paid'), markProvisioned(), OrderNotProvisionable);
 *
 * A refusal must carry the status it refused in (`state`) and the `ids` given here.
 */
import { it } from 'vitest';
import type { ErrorClass, Then } from './given.ts';

type Given<C, E, S> = { given: (...history: E[]) => { when: (command: C) => Then<E, S> } };

export const byStatus = <C, E extends { type: string }, S, Status extends string>(
  decider: Given<C, E, S>,
  reach: Readonly<Record<Status, E[]>>,
  noun: string,
  ids: Record<string, string>,
) => {
  const all = Object.keys(reach) as Status[];
  return {
    all,
    except: (...statuses: Status[]): Status[] => all.filter((s) => !statuses.includes(s)),
    gives: (statuses: readonly Status[], command: C, expected: E[], title = `a %s ${noun} → ${expected.map((e) => e.type).join(', ')}`) =>
      it.each(statuses)(title, (status) => {
        decider
          .given(...reach[status])
          .when(command)
          .then(...expected);
      }),
    addsNothing: (statuses: readonly Status[], command: C, title = `a %s ${noun} adds nothing`) =>
      it.each(statuses)(title, (status) => {
        decider
          .given(...reach[status])
          .when(command)
          .thenNothing();
      }),
    refuses: (statuses: readonly Status[], command: C, errorClass: ErrorClass, title = `a %s ${noun} → ${errorClass.name}`) =>
      it.each(statuses)(title, (status) => {
        decider
          .given(...reach[status])
          .when(command)
          .thenThrows(errorClass, { ...ids, state: status });
      }),
  };
};
