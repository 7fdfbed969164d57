/**
 * The erasure rule. Pure: the handler looks up what the ledger knows of the subscriber (whether it
 * ever ordered, which of its orders are still in flight, which data keys hold its numbers now) and
 * passes it in with the time and who asks.
 */
import type { Actor } from '../actor.ts';
import { SubscriberHasOrdersInFlight, SubscriberNotFound } from '../errors.ts';
import { assertNever } from '../never.ts';
import type { ErasureReason, Subscriber, SubscriberEvent } from './subscriber.ts';

export type EraseSubscriber = {
  type: 'EraseSubscriber';
  subscriberId: string;
  reason: ErasureReason;
  /** The subscriber placed at least one order. */
  known: boolean;
  /**
   * Orders whose messages or money still need the number: awaiting confirmation, payment pending,
   * paid and not provisioned yet, or provisioning failed with the refund to come.
   */
  inFlight: readonly string[];
  /** The data keys that hold the subscriber's numbers now. */
  keyIds: readonly string[];
  by: Actor;
  now: Date;
};

export type SubscriberCommand = EraseSubscriber;

export const decideSubscriber = (cmd: SubscriberCommand, state: Subscriber): SubscriberEvent[] => {
  switch (cmd.type) {
    case 'EraseSubscriber':
      return erase(cmd, state);
    default:
      return assertNever(cmd.type);
  }
};

/**
 * Refused while an order is in flight: its code SMS, its trade and its refund SMS need the number.
 * Already erased with nothing sealed since: already so. A subscriber who ordered again after an
 * erasure has a new key, and is erased again.
 */
const erase = (cmd: EraseSubscriber, state: Subscriber): SubscriberEvent[] => {
  if (!cmd.known && state.status === 'none') throw new SubscriberNotFound(cmd.subscriberId);
  if (cmd.inFlight.length > 0) throw new SubscriberHasOrdersInFlight(cmd.subscriberId, cmd.inFlight);
  const destroyed = state.status === 'erased' ? state.keyIds : [];
  const keyIds = cmd.keyIds.filter((k) => !destroyed.includes(k));
  if (state.status === 'erased' && keyIds.length === 0) return [];
  return [
    {
      type: 'SubscriberErased',
      data: { subscriberId: cmd.subscriberId, reason: cmd.reason, keyIds, by: cmd.by, at: cmd.now.toISOString() },
    },
  ];
};
