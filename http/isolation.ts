/**
 * Client isolation: an open-platform client sees and acts only on the orders it placed. Another
 * client's order does not exist for it (404, the same answer as for a missing order), so ids cannot
 * be probed. Customer service and admin see every order. Who placed an order is read from the log
 * (the actor of the order stream's first event, OrderPlaced), so it holds however far the read models are.
 */
import { OrderNotFound } from '../domain/errors.ts';
import { orderStream } from '../domain/order/order.ts';
import type { Actor, EventStore } from '../stores/event-store.ts';
import { ownerOf } from './auth.ts';

/** Throws OrderNotFound when an open-platform caller asks about an order another client placed (or no one did). */
export const ensureOwnOrder = async (store: EventStore, caller: Actor, orderId: string): Promise<void> => {
  if (caller.role !== 'open-platform') return;
  const [placed] = await store.readStream(orderStream(orderId), { limit: 1 });
  if (!placed || ownerOf(placed.metadata.actor) !== ownerOf(caller)) throw new OrderNotFound(orderId);
};
