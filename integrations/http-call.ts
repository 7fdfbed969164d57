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

/** Names this process to partners (and in their logs): which of several ledger processes made a call. */
const USER_AGENT = `tvpay-ledger (pid ${process.pid})`;

export const joinUrl = (baseUrl: string, path: string): string => `${baseUrl.replace(/\/+$/, '')}${path}`;

const errorCode = (err: unknown): string => {
  const cause = err instanceof Error ? err.cause : undefined;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') return cause.code;
  return err instanceof Error ? err.name : 'unknown';
};

/** Sends the request and reads the whole body; timeouts and network errors throw a retryable OutboundError. */
export async function httpCall(c: HttpCall): Promise<{ status: number; text: string }> {
  const fetchFn = c.fetchFn ?? fetch;
  try {
    const init: RequestInit = { method: c.method, headers: { 'user-agent': USER_AGENT, ...c.headers }, signal: AbortSignal.timeout(c.timeoutMs) };
    if (c.body !== undefined) init.body = c.body;
    const res = await fetchFn(c.url, init);
    return { status: res.status, text: await res.text() };
  } catch (err) {
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
