/**
 * Tells the open platform one order outcome (callbackId = task id). The order's facts come from its
 * stream as it is now; the status, time and details from the event that created the task (its
 * causationId), so a callback sent late still describes its own step. Never carries the phone number.
 */
import { foldOrder } from '../../domain/order/order.ts';
import type { OpenPlatform, OrderCallback } from '../../integrations/ports.ts';
import type { EventStore } from '../../stores/event-store.ts';
import { amountOfStep, done, orderStory, type Action } from '../action.ts';
import { callbackFor } from '../schedule.ts';

export const callbackAction =
  (deps: { store: EventStore; openPlatform: OpenPlatform | undefined }): Action =>
  async (attempt) => {
    const { spec } = attempt;
    if (!deps.openPlatform) return done('callbacks are off');
    const { events, cause } = await orderStory(deps.store, spec.orderId, spec.causationId);
    const o = foldOrder(events);
    if (o.status === 'none') return done('no such order');
    const facts = cause && callbackFor(cause);
    // The task was made from this event: anything else is a bug, retried and then left failed.
    if (!facts || facts.id !== spec.id) throw new Error(`callback ${spec.id}: its event ${spec.causationId} is not in the order's stream`);
    const callback: OrderCallback = {
      callbackId: spec.id,
      orderId: o.orderId,
      paymentId: o.paymentId,
      subscriberId: o.subscriberId,
      smartcardId: o.smartcardId,
      productId: o.product.productId,
      status: facts.status,
      at: facts.at,
      ...(facts.reason !== undefined && { reason: facts.reason }),
      ...(facts.validFrom !== undefined && { validFrom: facts.validFrom }),
      ...(facts.validUntil !== undefined && { validUntil: facts.validUntil }),
      amount: { ...amountOfStep(events, cause, o.amount) },
    };
    await attempt.claim();
    await deps.openPlatform.deliver(callback);
    return done(`delivered ${facts.status}`);
  };
