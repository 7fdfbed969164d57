/**
 * The Subscriber, as far as personal data goes: stream `subscriber-<subscriberId>`. Its only event is
 * the erasure of the subscriber's phone number (PIPL's right to deletion, and the retention limit).
 *
 *   none ─erase─▶ erased ─(a new order seals with a new key)─ erase again ─▶ erased
 *
 * Erasure is crypto-shredding: the data keys that sealed the subscriber's numbers are destroyed
 * (commands/erase-subscriber.ts); the events stay as they are, amounts and ids untouched, and every
 * sealed copy of the number becomes unreadable at once.
 */
import type { Actor } from '../actor.ts';
import { eventReader } from '../event-reader.ts';
import { assertNever } from '../never.ts';

export type ErasureReason = 'request' | 'retention';

export type SubscriberErased = {
  type: 'SubscriberErased';
  data: {
    subscriberId: string;
    reason: ErasureReason;
    /** The data keys destroyed by this erasure: whatever they sealed can never be read again. */
    keyIds: string[];
    /** Who erased: an admin (request), or the retention task. */
    by: Actor;
    at: string;
  };
};

export type SubscriberEvent = SubscriberErased;

export type Subscriber =
  | { status: 'none' }
  /** `keyIds`: every key destroyed so far, over all erasures. */
  | { status: 'erased'; subscriberId: string; erasedAt: string; reason: ErasureReason; keyIds: string[] };

export const initialSubscriber: Subscriber = { status: 'none' };

export const subscriberStream = (subscriberId: string): string => `subscriber-${subscriberId}`;

export const evolveSubscriber = (state: Subscriber, event: SubscriberEvent): Subscriber => {
  switch (event.type) {
    case 'SubscriberErased':
      return {
        status: 'erased',
        subscriberId: event.data.subscriberId,
        erasedAt: event.data.at,
        reason: event.data.reason,
        keyIds: [...(state.status === 'erased' ? state.keyIds : []), ...event.data.keyIds],
      };
    default:
      return assertNever(event.type);
  }
};

/** A stored event as a subscriber event, or undefined for another type. */
export const readSubscriberEvent = eventReader<SubscriberEvent>({ SubscriberErased: true });

/** What erasure needs to know of a subscriber (from the subscribers read model, caught up by the caller). */
export type SubscriberFacts = { known: boolean; inFlight: string[]; plainNumbers: boolean };
