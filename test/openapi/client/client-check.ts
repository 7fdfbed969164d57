/**
 * A client as an operator's platform team writes one: only the types openapi-typescript generates
 * from /docs/json, and fetch. It places an order and reads it back. test/openapi/client.test.ts
 * copies it into a temp dir next to a freshly generated `tvpay-api.ts` (never committed),
 * type-checks it there and runs it; so tsconfig.json leaves this folder out.
 */
import type { paths } from './tvpay-api.ts';

type PlaceOrder = paths['/v1/orders']['post'];
type GetOrder = paths['/v1/orders/{orderId}']['get'];

export type PlacedOrder = PlaceOrder['responses'][201]['content']['application/json'];
export type Order = GetOrder['responses'][200]['content']['application/json'];
type Problem = GetOrder['responses'][404]['content']['application/problem+json'];

const refused = async (res: Response): Promise<Error> => {
  const problem = (await res.json()) as Problem;
  return new Error(`${res.status} ${problem.type}: ${problem.detail}`);
};

export const placeOrder = async (baseUrl: string, token: string, key: string): Promise<PlacedOrder> => {
  const body: PlaceOrder['requestBody']['content']['application/json'] = {
    subscriberId: 'sub-client-1',
    smartcardId: 'card-client-1',
    msisdn: '13800138000',
    productId: 'sports-month',
    paymentMethod: 'mobile',
  };
  const headers: PlaceOrder['parameters']['header'] = { 'idempotency-key': key, 'X-Request-Id': `client-${key}` };
  const res = await fetch(`${baseUrl}/v1/orders`, {
    method: 'POST',
    headers: { ...headers, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201 && res.status !== 200) throw await refused(res);
  return (await res.json()) as PlacedOrder;
};

/** The order, or undefined while the read model catches up (503 with Retry-After: ask again). */
export const readOrder = async (baseUrl: string, token: string, orderId: string): Promise<Order | undefined> => {
  const path: GetOrder['parameters']['path'] = { orderId };
  const res = await fetch(`${baseUrl}/v1/orders/${encodeURIComponent(path.orderId)}`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status === 503) return undefined;
  if (res.status !== 200) throw await refused(res);
  return (await res.json()) as Order;
};

/** What a caller reads off the order: typed by the document, so a renamed field fails to compile. */
export const summary = (order: Order): string => `${order.orderId} ${order.status} ${order.amount.value} ${order.amount.currency} ${order.placedAt}`;
