/**
 * Patent steps 1–2: the open platform places an order for the set-top box and
 * the payment is requested right away.
 *
 * The order id is derived from the caller and its Idempotency-Key, so a retry lands
 * on the same stream even after a restart. The two writes (order, then payment) are
 * each idempotent: a crash between them is repaired by the caller's retry, or by the
 * process reactor following OrderPlaced up (commands/workflow.ts).
 */
import { IdempotencyKeyReused, UnknownProduct } from '../domain/errors.ts';
import { orderStream, readOrderEvent, type OrderPlaced } from '../domain/order/order.ts';
import type { Money } from '../domain/money.ts';
import { orderAggregate } from './aggregates.ts';
import type { LedgerDeps } from './deps.ts';
import { execute, type CommandContext } from './execute.ts';
import { followUpInline } from './follow-up.ts';
import { digestOf, paymentIdFor, uuidFrom } from './ids.ts';

export type PlaceOrderInput = {
  subscriberId: string;
  smartcardId: string;
  /** Normalised: 86 + 11 digits. Sealed with the subscriber's key before it reaches an event. */
  msisdn: string;
  productId: string;
  paymentMethod: 'mobile';
};

export type PlacedOrder = {
  orderId: string;
  paymentId: string;
  status: 'awaiting_confirmation';
  amount: Money;
  product: { productId: string; name: string; channels: readonly string[]; periodDays: number };
  expiresAt: string;
};

export const placeOrder = async (
  deps: LedgerDeps,
  input: PlaceOrderInput,
  idempotencyKey: string,
  ctx: Omit<CommandContext, 'commandKey'>,
): Promise<{ order: PlacedOrder; replayed: boolean }> => {
  const product = deps.catalog.find(input.productId);
  if (!product) throw new UnknownProduct(input.productId);
  const client = ctx.actor.client;
  const orderId = uuidFrom('order', client, idempotencyKey);
  const erasedReplay = await replayOfErased(deps, orderId, input, client);
  if (erasedReplay) return erasedReplay;
  // The number is sealed before it reaches the decider, and the request's digest is taken over the
  // sealed form (the same number seals the same way): an unkeyed digest of the plain number would let
  // anyone holding the log find the number again by trying every one, erased or not.
  const msisdn = await deps.personalData.seal(input.subscriberId, input.msisdn);
  const place = (requestHash: string) =>
    execute(
      deps,
      orderAggregate,
      {
        type: 'PlaceOrder',
        orderId,
        paymentId: paymentIdFor(orderId),
        subscriberId: input.subscriberId,
        smartcardId: input.smartcardId,
        msisdn,
        product,
        client,
        requestHash,
        ttlSeconds: deps.orderTtlSeconds,
        now: deps.now(),
      },
      { ...ctx, commandKey: `place:${orderId}:${requestHash}` },
    );
  let placed: Awaited<ReturnType<typeof place>>;
  try {
    placed = await place(digestOf({ ...input, msisdn }));
  } catch (err) {
    // An order placed before numbers were sealed has the digest of the plain request: the same request is a retry.
    if (!(err instanceof IdempotencyKeyReused)) throw err;
    const plainHash = digestOf(input);
    const [first] = await deps.store.readStream(orderStream(orderId), { limit: 1 });
    if (first?.data.requestHash !== plainHash) throw err;
    placed = await place(plainHash);
  }
  if (placed.state.status === 'none') throw new Error('unreachable: an order exists after PlaceOrder');
  // The payment is requested by the workflow's follow-up of OrderPlaced. On a replay it runs again on
  // the stored event, so a crash between the two writes is repaired by the caller's retry too.
  const orderPlaced = placed.appended.length > 0 ? placed.appended : await deps.store.readStream(orderStream(orderId), { limit: 1 });
  await followUpInline(deps, orderPlaced);
  // The response is built from the placement facts alone, so a replay answers byte for byte the same.
  return { order: responseOf(placed.state), replayed: placed.events.length === 0 || !(await placedBy(deps, orderId, ctx.causationId)) };
};

/**
 * A retry of an order whose subscriber was erased since: its number can no longer be sealed the same
 * way (the key is gone), and sealing it would make the subscriber a new key for an order they never
 * placed again. The retry is recognised on what is not personal (client, subscriber, card, product)
 * and answered as placed; anything else under the key is another request. Undefined: not such a retry.
 */
const replayOfErased = async (
  deps: LedgerDeps,
  orderId: string,
  input: PlaceOrderInput,
  client: string,
): Promise<{ order: PlacedOrder; replayed: boolean } | undefined> => {
  const [first] = await deps.store.readStream(orderStream(orderId), { limit: 1 });
  const placed = first && readOrderEvent(first);
  if (placed?.type !== 'OrderPlaced') return undefined;
  if ((await deps.personalData.reveal(placed.data.msisdn, placed.data.subscriberId)).kind !== 'erased') return undefined;
  const d = placed.data;
  const same = d.client === client && d.subscriberId === input.subscriberId && d.smartcardId === input.smartcardId && d.product.productId === input.productId;
  if (!same) throw new IdempotencyKeyReused();
  return { order: responseOf(d), replayed: true };
};

/**
 * Whether this request's append is the one that placed the order. Identical requests racing
 * each other append the same event ids: the store keeps the first and the others are no-ops.
 */
const placedBy = async (deps: LedgerDeps, orderId: string, requestId: string): Promise<boolean> => {
  const [first] = await deps.store.readStream(orderStream(orderId), { limit: 1 });
  return first?.metadata.causationId === requestId;
};

const responseOf = (o: OrderPlaced['data']): PlacedOrder => ({
  orderId: o.orderId,
  paymentId: o.paymentId,
  status: 'awaiting_confirmation',
  amount: o.amount,
  product: o.product,
  expiresAt: o.expiresAt,
});
