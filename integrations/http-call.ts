/**
 * One outbound HTTP attempt with a timeout, mapped onto OutboundError (shared by the three clients).
 * Invariant: error messages carry the system, the operation and a status or error code only —
 * never the URL's query, the request or response body, headers or tokens.
 */
import type { z } from 'zod';
import { OutboundError, kindForStatus, type OutboundSystem } from './ports.ts';

export type FetchFn = typeof fetch;

export type CallTarget = { system: OutboundSystem; operation: string };

export type HttpCall = CallTarget & {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  fetchFn?: FetchFn;
};

export const DEFAULT_TIMEOUT_MS = 5_000;

/** The largest answer read from a partner: every answer of the contract is a few hundred bytes. */
export const MAX_ANSWER_BYTES = 1 << 20;

class AnswerTooLarge extends Error {
  override readonly name = 'AnswerTooLarge';
}

/** The body as text, refused past MAX_ANSWER_BYTES (declared or streamed): a partner never fills our memory. */
const boundedText = async (res: Response, controller: AbortController): Promise<string> => {
  const declared = Number(res.headers.get('content-length') ?? 'NaN');
  if (declared > MAX_ANSWER_BYTES) {
    controller.abort();
    throw new AnswerTooLarge();
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      controller.abort();
      throw new AnswerTooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
};

/** Names this process to partners (and in their logs): which of several ledger processes made a call. */
const USER_AGENT = `tvpay-ledger (pid ${process.pid})`;

export const joinUrl = (baseUrl: string, path: string): string => `${baseUrl.replace(/\/+$/, '')}${path}`;

const errorCode = (err: unknown): string => {
  const cause = err instanceof Error ? err.cause : undefined;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') return cause.code;
  return err instanceof Error ? err.name : 'unknown';
};

/**
 * Sends the request and reads the whole body (up to MAX_ANSWER_BYTES); timeouts, network errors and
 * answers too large throw a retryable OutboundError. A redirect is never followed: it would carry our
 * signature and the request's body to a host nobody configured, and let it answer for the partner.
 * The 3xx itself is the answer (final, like any other status the contract does not name).
 */
export async function httpCall(c: HttpCall): Promise<{ status: number; text: string }> {
  const fetchFn = c.fetchFn ?? fetch;
  const controller = new AbortController();
  try {
    const init: RequestInit = {
      method: c.method,
      headers: { 'user-agent': USER_AGENT, ...c.headers },
      redirect: 'manual',
      signal: AbortSignal.any([AbortSignal.timeout(c.timeoutMs), controller.signal]),
    };
    if (c.body !== undefined) init.body = c.body;
    const res = await fetchFn(c.url, init);
    return { status: res.status, text: await boundedText(res, controller) };
  } catch (err) {
    if (err instanceof AnswerTooLarge) {
      throw new OutboundError({ kind: 'retryable', system: c.system, operation: c.operation, detail: `answer larger than ${MAX_ANSWER_BYTES} bytes` });
    }
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    const detail = timedOut ? `timed out after ${c.timeoutMs} ms` : `network error (${errorCode(err)})`;
    throw new OutboundError({ kind: 'retryable', system: c.system, operation: c.operation, detail });
  }
}

/** Throws the classified OutboundError for a non-2xx status. */
export function ensureOk(t: CallTarget, status: number): void {
  if (status >= 200 && status < 300) return;
  throw new OutboundError({ kind: kindForStatus(status), system: t.system, operation: t.operation, status, detail: `HTTP ${status}` });
}

/** A 2xx answer we cannot read. Retryable: every call is idempotent, and a proxy glitch is the likely cause. */
export const badResponse = (t: CallTarget, status: number, what: string): OutboundError =>
  new OutboundError({ kind: 'retryable', system: t.system, operation: t.operation, status, detail: `unexpected response: ${what}` });

/** The JSON answer in `text`, checked against the partner's contract; anything else is a retryable OutboundError. */
export function parseAnswer<T>(t: CallTarget, status: number, text: string, schema: z.ZodType<T>): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badResponse(t, status, 'not JSON');
  }
  const checked = schema.safeParse(parsed);
  if (!checked.success) throw badResponse(t, status, `not as the contract says (${checked.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')})`);
  return checked.data;
}
