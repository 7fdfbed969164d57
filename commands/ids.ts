/**
 * Deterministic ids. The same inputs give the same UUID (version 8, from SHA-256),
 * so a retried request lands on the same stream and a retried append resends the
 * same event ids.
 */
import { createHash } from 'node:crypto';

export const uuidFrom = (...parts: readonly string[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${p.length}:${p}`);
  const b = h.digest().subarray(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x80; // version 8: custom
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80; // RFC 9562 variant
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
};

/** A stable digest of a JSON value: object keys sorted, so field order does not matter. */
export const digestOf = (value: unknown): string => createHash('sha256').update(canonicalJson(value)).digest('base64url');

/** JSON with object keys sorted and undefined fields dropped: the same value always gives the same text. */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
};

/** Every order has one payment, whose id is derived from the order's. */
export const paymentIdFor = (orderId: string): string => uuidFrom('payment', orderId);
