/**
 * What every test calls the ledger with: the callers' tokens, the partners' secrets, a valid order.
 * Defined once, for the in-process tests and the end-to-end tests alike.
 */
export const TOKENS = {
  openPlatform: 'test-open-platform-token',
  phone: 'test-phone-app-token',
  service: 'test-customer-service-token',
  admin: 'test-admin-token',
} as const;

export const API_TOKENS = `open-platform:${TOKENS.openPlatform},phone-app:${TOKENS.phone},customer-service:${TOKENS.service},admin:${TOKENS.admin}`;
export const PLATFORM_SECRET = 'test-platform-secret-0123456789abcdef';
export const BOSS_TOKEN = 'test-boss-token-0123456789';
export const CODE_SECRET = 'test-code-secret-0123456789abcdef0123456789';
/** Shared by every process on one log, like CODE_SECRET: each must unwrap the others' data keys. */
export const DATA_KEY_SECRET = 'test-data-key-secret-0123456789abcdef012345';

export const bearer = (token: string): { authorization: string } => ({ authorization: `Bearer ${token}` });

export type OrderBody = { subscriberId: string; smartcardId: string; msisdn: string; productId: string; paymentMethod: 'mobile' };

/** A valid order body; each field can be replaced. */
export const orderBody = (over: Partial<OrderBody> = {}): OrderBody => ({
  subscriberId: 'sub-1001',
  smartcardId: '8100123456789012',
  msisdn: '13800138000',
  productId: 'sports-month',
  paymentMethod: 'mobile',
  ...over,
});
