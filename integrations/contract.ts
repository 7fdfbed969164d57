/**
 * The partners' contracts (API.md, "Whom we call") as zod schemas: what our clients accept from the
 * partners, and what the simulators accept from us. A partner's answer is validated here before any
 * field of it is used; an answer that does not fit is treated as no answer (retryable).
 */
import { z } from 'zod';

/** Integer fen; structurally the domain's Money. */
export const money = z.object({ value: z.number().int().safe(), currency: z.literal('CNY') });

const id = z.string().min(1).max(256);

export const tradeStatus = z.enum(['PROCESSING', 'SUCCESS', 'FAILED', 'CLOSED']);

/** POST /trades → 200: PROCESSING when new; a repeat may tell the trade's status now. */
export const tradeCreated = z.object({ tradeNo: id, status: tradeStatus });

/** GET /trades/{outTradeNo} → 200. `paidAt`: an ISO 8601 instant with its offset, as in the notifications (recorded, never used to schedule). */
export const trade = z.object({ tradeNo: id, status: tradeStatus, amount: money, paidAt: z.iso.datetime({ offset: true }).optional() });

/** POST /refunds → 200. */
export const refundAnswer = z.object({ refundNo: id, status: z.enum(['SUCCESS', 'PROCESSING']) });

/** BOSS POST /entitlements → 200: opened, so ACTIVE; anything else is not the goods. */
export const entitlementOpened = z.object({ bossRef: id, status: z.literal('ACTIVE') });

/** What we send: the requests the simulators check like the real partners would. */
export const createTradeRequest = z.object({ outTradeNo: id, amount: money, msisdn: id, subject: id, notifyUrl: id, expiresAt: id });
export const refundRequest = z.object({ outTradeNo: id, refundNo: id, amount: money });
export const openEntitlementRequest = z.object({
  requestId: id,
  subscriberId: id,
  smartcardId: id,
  productId: id,
  channels: z.array(z.string()),
  validFrom: id,
  validUntil: id,
});
export const revokeRequest = z.object({ requestId: id, reason: id });
export const smsRequest = z.object({
  messageId: id,
  to: z.union([z.strictObject({ msisdn: id }), z.strictObject({ smartcardId: id })]),
  templateId: id,
  signName: z.string().min(1).max(64),
  params: z.record(z.string().min(1).max(64), z.string().max(256)),
  text: z.string().min(1),
});
