/**
 * The payment platform's request/notification signature (API.md, POST /v1/payment-notifications):
 *
 *   X-Platform-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]
 *   v1 = hex(HMAC-SHA256(secret, "<t>.<raw body>"))
 *
 * Several v1 entries may be present during a secret rotation: a header is valid when ANY v1
 * matches ANY accepted secret. A GET is signed over the empty body.
 * Invariants: comparisons are constant-time on equal-length buffers; a timestamp further than
 * the tolerance from now, in the past OR the future, is stale; nothing here logs or throws secrets.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-platform-signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type VerifyFailure = 'missing' | 'malformed' | 'stale' | 'mismatch';
export type VerifyResult = { ok: true } | { ok: false; reason: VerifyFailure };

type RawBody = string | Uint8Array;

const digest = (secret: string, t: number, rawBody: RawBody): Buffer => createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();

/** The header value for `rawBody` at `nowSeconds`; one v1 entry per secret (rotation: sign with old and new). */
export function sign(secret: string | readonly string[], rawBody: RawBody, nowSeconds: number): string {
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0) throw new Error('sign: at least one secret is required');
  const t = Math.floor(nowSeconds);
  return [`t=${t}`, ...secrets.map((s) => `v1=${digest(s, t, rawBody).toString('hex')}`)].join(',');
}

/** `t` and the v1 digests of a header, or null when it is not exactly `t=<digits>` plus ≥ 1 `v1=<64 hex>`. Other schemes (v0=…) are ignored. */
export function parseSignature(header: string): { t: number; v1: Buffer[] } | null {
  let t: number | undefined;
  const v1: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (t !== undefined || !/^\d{1,12}$/.test(value)) return null;
      t = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) return null;
      v1.push(Buffer.from(value, 'hex'));
    }
  }
  return t === undefined || v1.length === 0 ? null : { t, v1 };
}

export function verify(
  header: string | undefined | null,
  rawBody: RawBody,
  secrets: readonly string[],
  nowSeconds: number,
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): VerifyResult {
  if (header === undefined || header === null || header.trim() === '') return { ok: false, reason: 'missing' };
  const parsed = parseSignature(header);
  if (parsed === null) return { ok: false, reason: 'malformed' };
  if (Math.abs(Math.floor(nowSeconds) - parsed.t) > toleranceSeconds) return { ok: false, reason: 'stale' };
  let matched = false;
  for (const secret of secrets) {
    const expected = digest(secret, parsed.t, rawBody);
    // Every candidate is 32 bytes (checked by parseSignature), so timingSafeEqual never throws.
    for (const candidate of parsed.v1) if (timingSafeEqual(expected, candidate)) matched = true;
  }
  return matched ? { ok: true } : { ok: false, reason: 'mismatch' };
}
