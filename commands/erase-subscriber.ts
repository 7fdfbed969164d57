/**
 * Erasure by crypto-shredding (PIPL): an admin's request, or the retention task.
 *
 * The order of steps is the guarantee: first the log records SubscriberErased with the ids of the keys
 * to destroy (the decider refuses while an order is in flight), then the keys are destroyed. A key is
 * never destroyed before the log says so, which is what lets every reader tell "erased" from "key
 * missing" (commands/personal-data.ts). A crash between the two steps is repaired by the erasure
 * reactor, which destroys the keys of every SubscriberErased it reads, again and harmlessly.
 *
 * Nothing else is written: amounts, ids and every other event stay as they are. The read models purge
 * the masked copy and the search digest when they read the event (projections/orders.ts).
 */
import { readSubscriberEvent, subscriberStream, type ErasureReason, type SubscriberFacts } from '../domain/subscriber/subscriber.ts';
import type { EventStore } from '../stores/event-store.ts';
import type { Projection } from '../projections/projection.ts';
import { subscriberAggregate } from './aggregates.ts';
import { execute, load, type CommandContext, type CommandDeps } from './execute.ts';
import type { ErasureRecord, PersonalData } from '../domain/personal-data.ts';

/** The read model that knows the subscriber's orders is behind the log: nothing was done; retry. */
export class SubscriberFactsBehind extends Error {
  override readonly name = 'SubscriberFactsBehind';
}

export type ErasureDeps = {
  commands: CommandDeps & { personalData: Pick<PersonalData, 'keyIds' | 'destroy'> };
  /** What the ledger knows of the subscriber, from a read model that has caught up with the log. */
  facts: (subscriberId: string) => Promise<SubscriberFacts>;
};

export type Erasure = {
  subscriberId: string;
  status: 'erased';
  reason: ErasureReason;
  erasedAt: string;
  /** Keys destroyed by this request (0 when the subscriber was already erased). */
  keysDestroyed: number;
  /**
   * Some events still hold the number in plain text (written before sealing): every reader shows
   * "erased", but only `npm run migrate -- --encrypt-pii` removes it from the log itself.
   */
  plainNumbersInLog: boolean;
};

export const eraseSubscriber = async (
  deps: ErasureDeps,
  subscriberId: string,
  reason: ErasureReason,
  ctx: Omit<CommandContext, 'commandKey'>,
): Promise<Erasure> => {
  const facts = await deps.facts(subscriberId);
  const keyIds = await deps.commands.personalData.keyIds(subscriberId);
  const result = await execute(
    deps.commands,
    subscriberAggregate,
    { type: 'EraseSubscriber', subscriberId, reason, known: facts.known, inFlight: facts.inFlight, keyIds, by: ctx.actor, now: deps.commands.now() },
    { ...ctx, commandKey: `erase:${subscriberId}` },
  );
  if (result.state.status !== 'erased') throw new Error('unreachable: a subscriber is erased after EraseSubscriber');
  const erased = result.state.keyIds;
  await deps.commands.personalData.destroy(subscriberId, erased);
  // The keys this erasure found live and that are gone now. Not destroy()'s count: the erasure reactor
  // (below) reads the same event and may destroy a key first, and then this request's destroy finds none.
  const remaining = await deps.commands.personalData.keyIds(subscriberId);
  const keysDestroyed = keyIds.filter((k) => erased.includes(k) && !remaining.includes(k)).length;
  return {
    subscriberId,
    status: 'erased',
    reason: result.state.reason,
    erasedAt: result.state.erasedAt,
    keysDestroyed,
    plainNumbersInLog: facts.plainNumbers,
  };
};

/**
 * Destroys the keys named by every SubscriberErased, as a checkpointed consumer of the log: a crash
 * between recording an erasure and destroying its keys is repaired here. Destroying a key twice, or
 * one already replaced by a newer key, does nothing.
 */
export const erasureReactor = (personalData: Pick<PersonalData, 'destroy'>): Projection => ({
  name: 'erasure',
  collections: [],
  handle: async (event) => {
    const e = readSubscriberEvent(event);
    if (e) await personalData.destroy(e.data.subscriberId, e.data.keyIds);
    return [];
  },
});

/** What the log says of a subscriber's erasures: whether erased, and the keys destroyed. */
export const erasureRecords =
  (store: EventStore) =>
  async (subscriberId: string): Promise<ErasureRecord> => {
    const s = await load(store, subscriberAggregate, subscriberStream(subscriberId));
    return s.status === 'erased' ? { erased: true, keyIds: s.keyIds } : { erased: false, keyIds: [] };
  };
