/**
 * HTTP client of the mobile payment platform (API.md, PAYMENT_PLATFORM_URL). Every request is signed
 * like the notifications (X-Platform-Signature over the raw JSON body; a GET over the empty body)
 * and carries Idempotency-Key = outTradeNo or refundNo. One attempt per call.
 */
import { signer, type SignedClientOptions } from './signed-client.ts';
import { refundAnswer, trade as tradeAnswer, tradeCreated } from './contract.ts';
import { DEFAULT_TIMEOUT_MS, ensureOk, httpCall, joinUrl, parseAnswer, type CallTarget } from './http-call.ts';
import type { CreateTradeRequest, PaymentPlatform, RefundRequest, Trade } from './ports.ts';

export type PaymentPlatformClientOptions = SignedClientOptions & { baseUrl: string };

export function createPaymentPlatformClient(o: PaymentPlatformClientOptions): PaymentPlatform {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signed = signer(o);

  const call = (t: CallTarget, method: 'GET' | 'POST', path: string, idempotencyKey: string, payload?: unknown) => {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'idempotency-key': idempotencyKey,
      'x-platform-signature': signed(body),
    };
    if (method === 'POST') headers['content-type'] = 'application/json';
    return httpCall({
      ...t,
      method,
      url: joinUrl(o.baseUrl, path),
      headers,
      timeoutMs,
      ...(method === 'POST' ? { body } : {}),
      ...(o.fetch ? { fetchFn: o.fetch } : {}),
    });
  };

  return {
    async createTrade(req: CreateTradeRequest) {
      const t: CallTarget = { system: 'payment-platform', operation: 'POST /trades' };
      const res = await call(t, 'POST', '/trades', req.outTradeNo, req);
      ensureOk(t, res.status);
      const body = parseAnswer(t, res.status, res.text, tradeCreated);
      // The contract answers PROCESSING; the outcome arrives by notification or queryTrade.
      return { tradeNo: body.tradeNo, status: 'PROCESSING' };
    },

    async queryTrade(outTradeNo: string) {
      const t: CallTarget = { system: 'payment-platform', operation: 'GET /trades/{outTradeNo}' };
      const res = await call(t, 'GET', `/trades/${encodeURIComponent(outTradeNo)}`, outTradeNo);
      if (res.status === 404) return null;
      ensureOk(t, res.status);
      const body = parseAnswer(t, res.status, res.text, tradeAnswer);
      const trade: Trade = { tradeNo: body.tradeNo, status: body.status, amount: body.amount };
      if (body.paidAt !== undefined) trade.paidAt = body.paidAt;
      return trade;
    },

    async refund(req: RefundRequest) {
      const t: CallTarget = { system: 'payment-platform', operation: 'POST /refunds' };
      const res = await call(t, 'POST', '/refunds', req.refundNo, req);
      ensureOk(t, res.status);
      const body = parseAnswer(t, res.status, res.text, refundAnswer);
      return { refundNo: body.refundNo, status: body.status };
    },
  };
}
