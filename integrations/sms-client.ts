/**
 * HTTP client of the SMS gateway (API.md, SMS_GATEWAY_URL): POST /messages → 202, Idempotency-Key = messageId.
 * One attempt per call. The message text and the recipient never appear in an error.
 */
import { DEFAULT_TIMEOUT_MS, ensureOk, httpCall, joinUrl, type CallTarget, type FetchFn } from './http-call.ts';
import type { SmsGateway, SmsMessage } from './ports.ts';

export type SmsClientOptions = { baseUrl: string; timeoutMs?: number; fetch?: FetchFn };

export function createSmsClient(o: SmsClientOptions): SmsGateway {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    async send(message: SmsMessage) {
      const t: CallTarget = { system: 'sms', operation: 'POST /messages' };
      const res = await httpCall({
        ...t,
        method: 'POST',
        url: joinUrl(o.baseUrl, '/messages'),
        headers: { accept: 'application/json', 'content-type': 'application/json', 'idempotency-key': message.messageId },
        body: JSON.stringify(message),
        timeoutMs,
        ...(o.fetch ? { fetchFn: o.fetch } : {}),
      });
      ensureOk(t, res.status);
    },
  };
}
