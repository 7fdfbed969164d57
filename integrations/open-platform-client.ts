/**
 * HTTP client of the open platform's order-result callback (OPEN_PLATFORM_CALLBACK_URL; patent claim 1
 * step 4: the order-payment result is passed on to the broadcaster's business open platform).
 *
 *   POST <url>  content-type: application/json, Idempotency-Key: <callbackId>,
 *               X-Ledger-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * Signed like the platform's notifications (signature.ts) but with OPEN_PLATFORM_CALLBACK_SECRET, and
 * signed again on every attempt, so a retry hours later is not stale. One attempt per call.
 */
import { DEFAULT_TIMEOUT_MS, ensureOk, httpCall, type CallTarget } from './http-call.ts';
import type { OpenPlatform, OrderCallback } from './ports.ts';
import { signer, type SignedClientOptions } from './signed-client.ts';

export const CALLBACK_SIGNATURE_HEADER = 'x-ledger-signature';

export type OpenPlatformClientOptions = SignedClientOptions & { url: string };

export function createOpenPlatformClient(o: OpenPlatformClientOptions): OpenPlatform {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signed = signer(o);
  return {
    async deliver(callback: OrderCallback) {
      const t: CallTarget = { system: 'open-platform', operation: 'POST order callback' };
      const body = JSON.stringify(callback);
      const res = await httpCall({
        ...t,
        method: 'POST',
        url: o.url,
        headers: {
          'content-type': 'application/json',
          'idempotency-key': callback.callbackId,
          [CALLBACK_SIGNATURE_HEADER]: signed(body),
        },
        body,
        timeoutMs,
        ...(o.fetch ? { fetchFn: o.fetch } : {}),
      });
      ensureOk(t, res.status);
    },
  };
}
