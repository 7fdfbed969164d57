/**
 * HTTP client of the broadcaster's BOSS (API.md, BOSS_URL): Bearer BOSS_TOKEN, Idempotency-Key = requestId.
 * One attempt per call; 422 (unknown or unpaired card) is a final OutboundError.
 */
import { entitlementOpened } from './contract.ts';
import { DEFAULT_TIMEOUT_MS, ensureOk, httpCall, joinUrl, parseAnswer, type CallTarget, type FetchFn } from './http-call.ts';
import type { Boss, OpenEntitlementRequest } from './ports.ts';

export type BossClientOptions = { baseUrl: string; token: string; timeoutMs?: number; fetch?: FetchFn };

export function createBossClient(o: BossClientOptions): Boss {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const post = (t: CallTarget, path: string, requestId: string, payload: unknown) =>
    httpCall({
      ...t,
      method: 'POST',
      url: joinUrl(o.baseUrl, path),
      headers: {
        accept: 'application/json',
        'content-type': 'application/json',
        authorization: `Bearer ${o.token}`,
        'idempotency-key': requestId,
      },
      body: JSON.stringify(payload),
      timeoutMs,
      ...(o.fetch ? { fetchFn: o.fetch } : {}),
    });

  return {
    async openEntitlement(req: OpenEntitlementRequest) {
      const t: CallTarget = { system: 'boss', operation: 'POST /entitlements' };
      const res = await post(t, '/entitlements', req.requestId, req);
      ensureOk(t, res.status);
      const body = parseAnswer(t, res.status, res.text, entitlementOpened);
      return { bossRef: body.bossRef, status: 'ACTIVE' };
    },

    async revoke(bossRef: string, req: { requestId: string; reason: string }) {
      const t: CallTarget = { system: 'boss', operation: 'POST /entitlements/{bossRef}/revoke' };
      const res = await post(t, `/entitlements/${encodeURIComponent(bossRef)}/revoke`, req.requestId, req);
      ensureOk(t, res.status);
    },
  };
}
