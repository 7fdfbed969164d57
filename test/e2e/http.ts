/** The ledger's API over HTTP as its callers use it (global fetch, the test tokens). */
import type { OrderBody } from '../support/fixtures.ts';
import { TOKENS } from '../support/fixtures.ts';

export type Reply<T = Record<string, unknown>> = { status: number; body: T; headers: Headers };

export type Json = Record<string, unknown>;

export async function call<T>(method: string, url: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') body = JSON.parse(text);
  return { status: res.status, body: body as T, headers: res.headers };
}

export type PlacedOrder = { orderId: string; paymentId: string; status: string; amount: { value: number; currency: string }; expiresAt: string };

export type HistoryEvent = { streamId: string; revision: number; position: string; id: string; type: string; data: Json; metadata: Json; recordedAt: string };

export type ProvisioningTask = {
  taskId: string;
  orderId: string;
  requestNo: number;
  status: string;
  attempts: number;
  lastError: string | null;
  outcome: string | null;
};

/** The ledger's API as its callers use it, with the test tokens. */
export const ledgerApi = (base: () => string) => ({
  placeOrder: (body: OrderBody, key: string) =>
    call<PlacedOrder & Json>('POST', `${base()}/v1/orders`, { token: TOKENS.openPlatform, body, headers: { 'idempotency-key': key } }),
  order: (orderId: string) => call<Json>('GET', `${base()}/v1/orders/${orderId}`, { token: TOKENS.service }),
  orders: (query: Record<string, string>) =>
    call<{ items: Json[]; nextCursor: string | null }>('GET', `${base()}/v1/orders?${new URLSearchParams(query)}`, { token: TOKENS.service }),
  history: (orderId: string) => call<{ orderId: string; events: HistoryEvent[] }>('GET', `${base()}/v1/orders/${orderId}/history`, { token: TOKENS.service }),
  payment: (paymentId: string) => call<Json>('GET', `${base()}/v1/payments/${paymentId}`, { token: TOKENS.phone }),
  confirm: (paymentId: string, code: string) => call<Json>('POST', `${base()}/v1/payments/${paymentId}/confirm`, { token: TOKENS.phone, body: { code } }),
  decline: (paymentId: string) => call<Json>('POST', `${base()}/v1/payments/${paymentId}/decline`, { token: TOKENS.phone, body: {} }),
  entitlements: (smartcardId: string) =>
    call<{ smartcardId: string; entitlements: Array<{ productId: string; name: string; channels: string[]; validFrom: string; validUntil: string }> }>(
      'GET',
      `${base()}/v1/smartcards/${smartcardId}/entitlements`,
      { token: TOKENS.openPlatform },
    ),
  provisioning: (query: Record<string, string>) =>
    call<{ items: ProvisioningTask[]; nextCursor: string | null }>('GET', `${base()}/v1/provisioning?${new URLSearchParams(query)}`, { token: TOKENS.service }),
});

export type LedgerApi = ReturnType<typeof ledgerApi>;
