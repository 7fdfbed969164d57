/**
 * One-time codes are derived, never stored: code = HMAC-SHA256(secret, paymentId:seq)
 * reduced to 6 digits. Events keep only the sequence number, so neither the event
 * store nor a read model nor a log line ever holds a code.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PresentedCode } from '../domain/payment/decide.ts';

export const CODE_DIGITS = 6;

export const deriveCode = (secret: string, paymentId: string, seq: number): string => {
  const mac = createHmac('sha256', secret).update(`${paymentId}:${seq}`).digest();
  return String(mac.readUInt32BE(0) % 10 ** CODE_DIGITS).padStart(CODE_DIGITS, '0');
};

export const codeMatches = (secret: string, paymentId: string, seq: number, presented: string): boolean => {
  const expected = Buffer.from(deriveCode(secret, paymentId, seq));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
};

/** What the decider needs of a presented code: whether it matches code number `seq`. */
export const presentedCode = (secret: string, paymentId: string, presented: string): PresentedCode => ({
  matches: (seq) => codeMatches(secret, paymentId, seq, presented),
});

/**
 * The ledger's one-time codes as a capability: it derives a code and checks a presented one, and
 * never gives its secret out, so whatever holds the ledger's dependencies (a route, an action) holds
 * no secret it could log or leak.
 */
export type OneTimeCodes = {
  /** Code number `seq` of the payment, for the SMS that carries it. */
  code(paymentId: string, seq: number): string;
  /** What the decider needs of a code the phone presented for the payment. */
  presented(paymentId: string, presented: string): PresentedCode;
};

export const oneTimeCodes = (secret: string): OneTimeCodes => ({
  code: (paymentId, seq) => deriveCode(secret, paymentId, seq),
  presented: (paymentId, presented) => presentedCode(secret, paymentId, presented),
});
