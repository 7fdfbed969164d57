/**
 * The demo's HTTP client: global fetch against the public API, nothing else.
 * Every failure the demo cannot go on from is a DemoFailure with a one-line reason.
 */
import { setTimeout as pause } from 'node:timers/promises';
import type { z } from 'zod';

/** Why the demo cannot go on; `unavailable` when the service cannot be reached at all (exit 69, else 1). */
export class DemoFailure extends Error {
  constructor(
    message: string,
    readonly unavailable = false,
  ) {
    super(message);
  }
}

export type Reply = { status: number; body: unknown };

const REQUEST_TIMEOUT_MS = 10_000;

export type Api = {
  call(method: 'GET' | 'POST', path: string, token: string, opts?: { body?: unknown; headers?: Record<string, string> }): Promise<Reply>;
};

export const createApi = (baseUrl: string): Api => ({
  async call(method, path, token, opts = {}) {
    let res: Response;
    try {
      res = await fetch(baseUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(opts.body !== undefined && { 'content-type': 'application/json' }),
          ...opts.headers,
        },
        ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      throw new DemoFailure(
        timedOut
          ? `the service at ${baseUrl} did not answer ${method} ${path.split('?')[0]} within ${REQUEST_TIMEOUT_MS / 1000} s`
          : `cannot reach the service at ${baseUrl}: run \`npm start\` first (or point --url at it)`,
        true,
      );
    }
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body };
  },
});

/** The body when the status is the expected one and the body has the expected shape; else a DemoFailure naming the step. */
export const expect = <S extends z.ZodType>(reply: Reply, status: number, schema: S, what: string): z.infer<S> => {
  if (reply.status !== status) {
    const hint = reply.status === 401 || reply.status === 403 ? ' (does the service use other tokens? pass --token-<role>)' : '';
    throw new DemoFailure(`${what}: HTTP ${reply.status}${problemDetail(reply.body)}${hint}`);
  }
  const parsed = schema.safeParse(reply.body);
  if (!parsed.success) throw new DemoFailure(`${what}: unexpected answer (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data;
};

/** `: <detail>` of a problem+json body, if it has one. */
export const problemDetail = (body: unknown): string =>
  typeof body === 'object' && body !== null && 'detail' in body && typeof body.detail === 'string' ? `: ${body.detail}` : '';

const POLL_EVERY_MS = 150;

/**
 * Polls `probe` until it returns a value (not undefined) or the deadline passes. A probe may throw
 * a DemoFailure to stop early (e.g. the order reached a state it will never leave).
 */
export const waitFor = async <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new DemoFailure(`gave up waiting ${Math.round(timeoutMs / 1000)} s for ${what}`);
    await pause(POLL_EVERY_MS);
  }
};
