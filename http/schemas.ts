/** Request and response shapes. The OpenAPI document at /docs/json is generated from these. */
import { z } from 'zod';
import { isMobileNumber } from '../domain/msisdn.ts';

export const money = z.object({
  value: z.number().int().nonnegative().describe('integer fen'),
  currency: z.literal('CNY'),
});

const id = (what: string) =>
  z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, `${what}: letters, digits, '.', '_', ':' or '-'`);

export const msisdn = z
  .string()
  .refine(isMobileNumber, 'a mainland China mobile number: 11 digits starting 13–19, optionally with +86')
  .describe('mainland China mobile number');

export const uuid = z.uuid();

export const problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .loose();

export const product = z.object({
  productId: z.string(),
  name: z.string(),
  description: z.string(),
  channels: z.array(z.string()).readonly(),
  price: money,
  periodDays: z.number().int(),
});

export const placeOrderBody = z.strictObject({
  subscriberId: id('subscriberId'),
  smartcardId: id('smartcardId'),
  msisdn,
  productId: id('productId'),
  paymentMethod: z.literal('mobile'),
});

export const idempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1).max(255).describe('the caller’s key for this order; a retry sends the same key and body'),
});

export const placedOrder = z.object({
  orderId: z.string(),
  paymentId: z.string(),
  status: z.literal('awaiting_confirmation'),
  amount: money,
  product: z.object({ productId: z.string(), name: z.string(), channels: z.array(z.string()).readonly(), periodDays: z.number().int() }),
  expiresAt: z.string(),
});

export const orderParams = z.object({ orderId: uuid });
export const subscriberParams = z.object({ subscriberId: id('subscriberId') });
export const paymentParams = z.object({ paymentId: uuid });

export const confirmBody = z.strictObject({ code: z.string().regex(/^\d{6}$/, 'six digits') });

export const resolveBody = z.strictObject({
  decision: z.enum(['accept', 'refund']).describe('accept: the amount the platform took pays the order; refund: it goes back'),
  reason: z.string().trim().min(3).max(500).describe('why, for the history'),
});

export const notificationBody = z.strictObject({
  notificationId: z.string().min(1).max(128),
  tradeNo: z.string().min(1).max(128),
  outTradeNo: z.string().min(1).max(128),
  status: z.enum(['SUCCESS', 'FAILED']),
  amount: money,
  paidAt: z.iso.datetime({ offset: true }).optional(),
  failureReason: z.string().max(500).optional(),
});

export const historyEvent = z.object({
  streamId: z.string(),
  revision: z.number().int(),
  position: z.string(),
  id: z.string(),
  type: z.string(),
  data: z.record(z.string(), z.unknown()),
  metadata: z.record(z.string(), z.unknown()),
  recordedAt: z.string(),
});
