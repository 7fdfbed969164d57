/**
 * The external systems as the rest of the service sees them (API.md, "Whom we call"): the payment
 * platform, BOSS, the SMS gateway and, optionally, the open platform's order-result callback.
 * Implemented by the HTTP clients (*-client.ts) and by the in-process simulators (simulators/).
 *
 * Invariants every implementation keeps:
 * - every call carries its idempotency key (outTradeNo / refundNo / requestId / messageId), so
 *   repeating a call after a timeout never creates a second trade, refund, entitlement or SMS;
 * - one call is one attempt; failures are thrown as OutboundError and never retried here
 *   (retry with retry.ts, or schedule it in the reactor);
 * - an OutboundError's message never holds a phone number, a secret, a token or a message text.
 */

/** Integer fen; structurally the same as the domain's Money. */
export type Money = { value: number; currency: 'CNY' };

export type TradeStatus = 'PROCESSING' | 'SUCCESS' | 'FAILED' | 'CLOSED';

export type CreateTradeRequest = {
  /** Our paymentId; the idempotency key of the trade. */
  outTradeNo: string;
  amount: Money;
  msisdn: string;
  subject: string;
  notifyUrl: string;
  /** ISO 8601 UTC. */
  expiresAt: string;
};

export type Trade = { tradeNo: string; status: TradeStatus; amount: Money; paidAt?: string };

export type RefundRequest = { outTradeNo: string; refundNo: string; amount: Money };

export type PaymentPlatform = {
  createTrade(req: CreateTradeRequest): Promise<{ tradeNo: string; status: 'PROCESSING' }>;
  /** null when the platform has no such trade (HTTP 404). */
  queryTrade(outTradeNo: string): Promise<Trade | null>;
  refund(req: RefundRequest): Promise<{ refundNo: string; status: 'SUCCESS' | 'PROCESSING' }>;
};

/** The body of POST /v1/payment-notifications, as the platform sends it. */
export type PaymentNotification = {
  notificationId: string;
  tradeNo: string;
  outTradeNo: string;
  status: 'SUCCESS' | 'FAILED';
  amount: Money;
  paidAt?: string;
  failureReason?: string;
};

export type OpenEntitlementRequest = {
  /** The idempotency key: the same requestId again returns the same bossRef. */
  requestId: string;
  subscriberId: string;
  smartcardId: string;
  productId: string;
  channels: string[];
  /** ISO 8601 UTC. */
  validFrom: string;
  validUntil: string;
};

export type Boss = {
  /** Throws a final OutboundError (status 422) when BOSS refuses for good: unknown or unpaired card. */
  openEntitlement(req: OpenEntitlementRequest): Promise<{ bossRef: string; status: 'ACTIVE' }>;
  revoke(bossRef: string, req: { requestId: string; reason: string }): Promise<void>;
};

export type SmsRecipient = { msisdn: string } | { smartcardId: string };
/**
 * One message: the template the SMS platform approved (its id, the sender signature and the values of
 * its placeholders) and the same message rendered as the recipient reads it (`text`, signature first),
 * for gateways that send plain text.
 */
export type SmsMessage = { messageId: string; to: SmsRecipient; templateId: string; signName: string; params: Record<string, string>; text: string };

export type SmsGateway = {
  send(message: SmsMessage): Promise<void>;
};

/**
 * The order outcomes the broadcaster's business open platform is told about (patent claim 1 step 4),
 * when OPEN_PLATFORM_CALLBACK_URL is set. One callback per order event; `status` is the status that
 * event led to, even when the callback is delivered after a later step.
 */
export type OrderCallbackStatus = 'paid' | 'provisioned' | 'cancelled' | 'expired' | 'payment_failed' | 'provisioning_failed' | 'refunded';

/** The body of a callback. Never carries the phone number. */
export type OrderCallback = {
  /** The idempotency key: the receiver dedupes by it (delivery is at least once, in any order). */
  callbackId: string;
  orderId: string;
  paymentId: string;
  subscriberId: string;
  smartcardId: string;
  productId: string;
  status: OrderCallbackStatus;
  /** ISO 8601 UTC: when the step happened (with `status`, lets the receiver keep the latest). */
  at: string;
  /** cancelled, payment_failed, provisioning_failed: why. */
  reason?: string;
  /** provisioned: the entitlement's validity. */
  validFrom?: string;
  validUntil?: string;
  amount: Money;
};

export type OpenPlatform = {
  /** One signed POST; a 2xx is delivered. Throws a final OutboundError for a 4xx other than 409/429. */
  deliver(callback: OrderCallback): Promise<void>;
};

export type OutboundSystem = 'payment-platform' | 'boss' | 'sms' | 'open-platform';
export type OutboundErrorKind = 'retryable' | 'final';

/**
 * The only error the ports throw. `retryable`: timeouts, network errors, 5xx, 409, 429 — the same
 * call with the same idempotency key may succeed later. `final`: any other 4xx (BOSS 422 = refusal).
 * `message` is safe to log: system, operation, status or error code, nothing from request bodies.
 */
export class OutboundError extends Error {
  override readonly name = 'OutboundError';
  readonly kind: OutboundErrorKind;
  readonly system: OutboundSystem;
  readonly operation: string;
  /** The HTTP status when the system answered; undefined for timeouts and network errors. */
  readonly status: number | undefined;

  constructor(o: { kind: OutboundErrorKind; system: OutboundSystem; operation: string; status?: number; detail: string }) {
    super(`${o.system} ${o.operation}: ${o.detail}`);
    this.kind = o.kind;
    this.system = o.system;
    this.operation = o.operation;
    this.status = o.status;
  }
}

/** API.md: 5xx, 409 and 429 are worth retrying; every other non-2xx status is final. */
export const kindForStatus = (status: number): OutboundErrorKind => (status >= 500 || status === 409 || status === 429 ? 'retryable' : 'final');

export const isRetryable = (err: unknown): boolean => err instanceof OutboundError && err.kind === 'retryable';
