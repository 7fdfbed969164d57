/**
 * What the clients that sign their requests share (the payment platform's, the open platform's
 * callback): their options, and the signer that stamps each request when it is sent.
 */
import type { FetchFn } from './http-call.ts';
import { sign } from './signature.ts';

export type SignedClientOptions = {
  secret: string;
  timeoutMs?: number;
  fetch?: FetchFn;
  /** Clock for the signature timestamp; default Date.now. */
  nowMs?: () => number;
};

/** The signature header's value for a body, stamped now: a request signed again on every attempt is never stale. */
export const signer = (o: SignedClientOptions): ((body: string) => string) => {
  const nowMs = o.nowMs ?? Date.now;
  return (body) => sign(o.secret, body, nowMs() / 1000);
};
