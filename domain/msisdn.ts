import { createHmac } from 'node:crypto';

/**
 * Mainland China mobile numbers. Stored as E.164 digits without '+' (8613800138000);
 * shown masked (138****8000) everywhere but where a role needs the whole number.
 */
const MOBILE = /^(?:\+?86)?(1[3-9]\d{9})$/;

export const isMobileNumber = (s: string): boolean => MOBILE.test(s);

/** '13800138000' or '+8613800138000' → '8613800138000'; undefined if not a mainland mobile number. */
export const normalizeMsisdn = (s: string): string | undefined => {
  const m = MOBILE.exec(s);
  return m?.[1] ? `86${m[1]}` : undefined;
};

export const maskMsisdn = (msisdn: string): string => {
  const national = msisdn.startsWith('86') && msisdn.length === 13 ? msisdn.slice(2) : msisdn;
  return national.length >= 7 ? `${national.slice(0, 3)}****${national.slice(-4)}` : '****';
};

/**
 * A keyed digest of the number, so read models can be searched by phone number
 * without holding the number itself.
 */
export const msisdnSearchKey = (secret: string, msisdn: string): string =>
  createHmac('sha256', secret).update(`msisdn:${msisdn}`).digest('base64url').slice(0, 32);

/** The stored form as E.164, for the SMS gateway and the payment platform: '+8613800138000'. */
export const e164 = (msisdn: string): string => `+${msisdn}`;
