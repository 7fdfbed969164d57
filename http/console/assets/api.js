// The console speaks the service's public API with the agent's own token.
// Calls are not activity: a page that refreshes itself does not keep an idle session alive.
import { current, revoked } from './session.js';

/** Where outbound work is listed (kind, status, orderId, limit, cursor). */
export const OUTBOUND = '/v1/outbound';

/** A refused or failed call; `problem` is the service's problem+json (or a stand-in for a network error). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export const NETWORK = 'urn:tvpay-ledger:console:network';

const queryString = (query) => {
  const entries = Object.entries(query ?? {}).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return entries.length ? `?${new URLSearchParams(entries)}` : '';
};

/** Calls the API; resolves to the JSON body, or throws ApiError. A 401 ends the session. */
export const call = async (method, path, { query, body, signal } = {}) => {
  const s = current();
  if (!s) throw new ApiError(401, { type: 'urn:tvpay-ledger:problem:unauthorized', title: 'Unauthorized', status: 401, detail: 'signed out' });
  let res;
  try {
    res = await fetch(path + queryString(query), {
      method,
      headers: {
        authorization: `Bearer ${s.token}`,
        accept: 'application/json, application/problem+json',
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError(0, { type: NETWORK, title: 'Network', status: 0, detail: String(err) });
  }
  if (res.status === 401) {
    revoked();
    throw new ApiError(401, await res.json().catch(() => ({ type: 'urn:tvpay-ledger:problem:unauthorized', status: 401 })));
  }
  const json = (res.headers.get('content-type') ?? '').includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) throw new ApiError(res.status, json ?? { type: 'about:blank', title: res.statusText, status: res.status, detail: '' });
  return json;
};

export const get = (path, query, opts = {}) => call('GET', path, { ...opts, query });
export const post = (path, body) => call('POST', path, { body });
