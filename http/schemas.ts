/**
 * Request and response shapes. The OpenAPI document at /docs/json is generated from these: a schema
 * with `.meta({ id })` is a named component (its request form is `<id>Input`), with its example.
 */
import { z } from 'zod';
import { isMobileNumber } from '../domain/msisdn.ts';
import { ORDER_STATUSES } from '../domain/order/order.ts';

const EXAMPLE_ORDER = '3f6c1f0e-8d2a-4c57-9a51-2f1d0b7e9c44';
const EXAMPLE_PAYMENT = '9b2d7c31-4e8f-4a0b-8f6e-1c2d3e4f5a6b';
const EXAMPLE_INSTANT = '2026-11-25T08:00:00.000Z';

/** An instant as the service writes it (Date#toISOString): documented as `date-time`, not re-validated on the way out. */
export const instant = z.string().meta({ format: 'date-time', example: EXAMPLE_INSTANT });

export const money = z
  .object({
    value: z.number().int().nonnegative().describe('integer fen'),
    currency: z.literal('CNY'),
  })
  .meta({ id: 'Money', description: 'An amount of money in integer fen (1 yuan = 100 fen).', example: { value: 3800, currency: 'CNY' } });

const id = (what: string) =>
  z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, `${what}: letters, digits, '.', '_', ':' or '-'`);

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
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('validation failures: one per field'),
  })
  .loose()
  .meta({
    id: 'Problem',
    description:
      'RFC 9457 problem details (application/problem+json). `type` ends with the refusal’s code; a refusal may add fields of its own (e.g. attemptsLeft).',
    example: {
      type: 'urn:tvpay-ledger:problem:validation',
      title: 'Invalid request',
      status: 400,
      detail: '1 field(s) are invalid: body.msisdn',
      errors: [{ path: 'body.msisdn', message: 'a mainland China mobile number: 11 digits starting 13–19, optionally with +86' }],
    },
  });

export const product = z
  .object({
    productId: z.string(),
    name: z.string(),
    description: z.string(),
    channels: z.array(z.string()).readonly(),
    price: money,
    periodDays: z.number().int(),
  })
  .meta({
    id: 'Product',
    description: 'A purchasable channel package.',
    example: {
      productId: 'sports-month',
      name: '体育包 Sports (1 month)',
      description: 'Live football, basketball and table tennis.',
      channels: ['CCTV-5 HD', 'CCTV-5+ HD'],
      price: { value: 3800, currency: 'CNY' },
      periodDays: 30,
    },
  });

export const placeOrderBody = z
  .strictObject({
    subscriberId: id('subscriberId'),
    smartcardId: id('smartcardId'),
    msisdn,
    productId: id('productId'),
    paymentMethod: z.literal('mobile'),
  })
  .meta({
    id: 'PlaceOrderRequest',
    example: { subscriberId: 'sub-1001', smartcardId: 'card-8800123', msisdn: '13800138000', productId: 'sports-month', paymentMethod: 'mobile' },
  });

export const idempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1).max(255).describe('the caller’s key for this order; a retry sends the same key and body'),
});

export const placedOrder = z
  .object({
    orderId: z.string(),
    paymentId: z.string(),
    status: z.literal('awaiting_confirmation'),
    amount: money,
    product: z.object({ productId: z.string(), name: z.string(), channels: z.array(z.string()).readonly(), periodDays: z.number().int() }),
    expiresAt: instant.describe('unconfirmed by then, the order expires'),
  })
  .meta({
    id: 'PlacedOrder',
    example: {
      orderId: EXAMPLE_ORDER,
      paymentId: EXAMPLE_PAYMENT,
      status: 'awaiting_confirmation',
      amount: { value: 3800, currency: 'CNY' },
      product: { productId: 'sports-month', name: '体育包 Sports (1 month)', channels: ['CCTV-5 HD', 'CCTV-5+ HD'], periodDays: 30 },
      expiresAt: '2026-11-25T08:15:00.000Z',
    },
  });

export const orderParams = z.object({ orderId: uuid });
export const subscriberParams = z.object({ subscriberId: id('subscriberId') });
export const paymentParams = z.object({ paymentId: uuid });

export const confirmBody = z
  .strictObject({ code: z.string().regex(/^\d{6}$/, 'six digits') })
  .meta({ id: 'ConfirmPaymentRequest', example: { code: '123456' } });

export const resolveBody = z
  .strictObject({
    decision: z.enum(['accept', 'refund']).describe('accept: the amount the platform took pays the order; refund: it goes back'),
    reason: z.string().trim().min(3).max(500).describe('why, for the history'),
  })
  .meta({ id: 'ResolvePaymentRequest', example: { decision: 'refund', reason: 'the platform took 38.01 yuan for a 38 yuan package' } });

export const notificationBody = z
  .strictObject({
    notificationId: z.string().min(1).max(128),
    tradeNo: z.string().min(1).max(128),
    outTradeNo: z.string().min(1).max(128),
    status: z.enum(['SUCCESS', 'FAILED']),
    amount: money,
    paidAt: z.iso.datetime({ offset: true }).optional(),
    failureReason: z.string().max(500).optional(),
  })
  .meta({
    id: 'PaymentNotification',
    description: 'The payment platform’s result for one trade; `outTradeNo` is our paymentId.',
    example: {
      notificationId: 'n-20261125-0001',
      tradeNo: 'T202611250001',
      outTradeNo: EXAMPLE_PAYMENT,
      status: 'SUCCESS',
      amount: { value: 3800, currency: 'CNY' },
      paidAt: '2026-11-25T08:02:10+08:00',
    },
  });

export const historyEvent = z
  .object({
    streamId: z.string(),
    revision: z.number().int(),
    position: z.string(),
    id: z.string(),
    type: z.string(),
    data: z.record(z.string(), z.unknown()),
    metadata: z.record(z.string(), z.unknown()),
    recordedAt: instant,
  })
  .meta({
    id: 'HistoryEvent',
    description: 'One event from the event store.',
    example: {
      streamId: `order-${EXAMPLE_ORDER}`,
      revision: 0,
      position: '42',
      id: 'b1c2d3e4-0000-4000-8000-000000000001',
      type: 'OrderPlaced',
      data: { orderId: EXAMPLE_ORDER, productId: 'sports-month' },
      metadata: { correlationId: 'stb-session-42' },
      recordedAt: EXAMPLE_INSTANT,
    },
  });

const orderOfExample = {
  orderId: EXAMPLE_ORDER,
  paymentId: EXAMPLE_PAYMENT,
  status: 'provisioned',
  subscriberId: 'sub-1001',
  smartcardId: 'card-8800123',
  msisdn: '138****8000',
  product: { productId: 'sports-month', name: '体育包 Sports (1 month)', channels: ['CCTV-5 HD', 'CCTV-5+ HD'], periodDays: 30 },
  amount: { value: 3800, currency: 'CNY' },
  placedAt: EXAMPLE_INSTANT,
  expiresAt: '2026-11-25T08:15:00.000Z',
  steps: { placedAt: EXAMPLE_INSTANT, paidAt: '2026-11-25T08:02:11.000Z', provisionedAt: '2026-11-25T08:02:12.000Z' },
  payment: { paymentId: EXAMPLE_PAYMENT, status: 'succeeded' },
  boss: { bossRef: 'BOSS-77120' },
  updatedAt: '2026-11-25T08:02:12.000Z',
};

/** The orders read model's document (more fields may appear as the order moves on). */
export const orderView = z
  .object({
    id: z.string().optional(),
    orderId: z.string(),
    paymentId: z.string(),
    status: z.enum(ORDER_STATUSES),
    subscriberId: z.string(),
    smartcardId: z.string(),
    msisdn: z.string().describe('masked (138****8000), or "erased"'),
    product: z.object({ productId: z.string(), name: z.string() }).loose(),
    amount: money,
    placedAt: instant,
    expiresAt: instant.optional(),
    steps: z.record(z.string(), z.unknown()).optional().describe('when each step happened'),
    payment: z.record(z.string(), z.unknown()).optional().describe('the payment’s latest state'),
    boss: z.record(z.string(), z.unknown()).optional().describe('the BOSS entitlement, once requested'),
    updatedAt: instant.optional(),
  })
  .loose()
  .meta({ id: 'Order', description: 'An order as the read model has it.', example: orderOfExample });

export const orderPage = z
  .object({ items: z.array(orderView), nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last') })
  .meta({ id: 'OrderPage', example: { items: [orderOfExample], nextCursor: null } });

/** The body of a callback to the open platform (integrations/ports.ts OrderCallback). */
export const orderCallback = z
  .object({
    callbackId: z.string().describe('the idempotency key: dedupe by it (at least once, in any order)'),
    orderId: z.string(),
    paymentId: z.string(),
    subscriberId: z.string(),
    smartcardId: z.string(),
    productId: z.string(),
    status: z.enum(['paid', 'provisioned', 'cancelled', 'expired', 'payment_failed', 'provisioning_failed', 'refunded']),
    at: instant.describe('when the step happened'),
    reason: z.string().optional().describe('cancelled, payment_failed, provisioning_failed: why'),
    validFrom: instant.optional(),
    validUntil: instant.optional(),
    amount: money,
  })
  .meta({
    id: 'OrderOutcomeCallback',
    description: 'One order outcome, sent to OPEN_PLATFORM_CALLBACK_URL. Never carries the phone number.',
    example: {
      callbackId: 'task-callback-0001',
      orderId: EXAMPLE_ORDER,
      paymentId: EXAMPLE_PAYMENT,
      subscriberId: 'sub-1001',
      smartcardId: 'card-8800123',
      productId: 'sports-month',
      status: 'provisioned',
      at: '2026-11-25T08:02:12.000Z',
      validFrom: '2026-11-25T08:02:12.000Z',
      validUntil: '2026-12-25T08:02:12.000Z',
      amount: { value: 3800, currency: 'CNY' },
    },
  });

export const readiness = z
  .object({
    status: z.enum(['ready', 'not ready']),
    checks: z
      .record(z.string(), z.string())
      .describe(
        'each store, projection and the task worker: ok, active, standby (another process holds its lease), elsewhere (CONSUMERS leaves it to another process), or what is wrong',
      ),
  })
  .meta({
    id: 'Readiness',
    example: { status: 'ready', checks: { eventStore: 'ok', readStore: 'ok', 'projection:orders': 'active', taskWorker: 'active' } },
  });

/**
 * A route's own refusals, as problem+json: the ones only it can give (404, 409, 422, 429, 503; 401
 * from a route that authenticates itself). 400 (input validated), 401 and 403 (roles) are added to
 * the document for every route of that kind (http/openapi.ts).
 */
export const refusals = <const S extends readonly (401 | 404 | 409 | 422 | 429 | 503)[]>(...statuses: S): Record<S[number], typeof problem> =>
  Object.fromEntries(statuses.map((s) => [s, problem])) as Record<S[number], typeof problem>;
