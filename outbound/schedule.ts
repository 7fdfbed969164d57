/**
 * The schedule: which event creates which task, when it is due and until when it is tried. A pure
 * table: every process derives the same tasks, with the same ids, from the same events, so a task is
 * created once however often its event is replayed, and the task id is the partner's idempotency key.
 *
 * Due times come from our own clock as recorded in the events (the command's time), never from a
 * partner's timestamp: OrderPaid.paidAt is our time of record (commands/workflow.ts).
 */
import { assertNever } from '../domain/never.ts';
import type { OrderEvent } from '../domain/order/order.ts';
import type { PaymentEvent } from '../domain/payment/payment.ts';
import type { OrderCallbackStatus } from '../integrations/ports.ts';
import type { SmsTemplate, TaskKind, TaskSpec } from './task.ts';

export type ScheduleOptions = {
  paymentQueryAfterSeconds: number;
  /** OPEN_PLATFORM_CALLBACK_URL is set: order outcomes create `callback` tasks. */
  callbacks: boolean;
};

/** The creating event's envelope. */
export type Cause = { id: string; correlationId: string; recordedAt: string };

/**
 * What the schedule needs to know beyond the event, remembered by the queue from earlier events:
 * the entitlement an order's BOSS requests are for (from OrderPlaced), and a payment's order and
 * deadline (from PaymentRequested).
 */
export type Memory = { group?: string; payment?: { orderId: string; payBy: string } };

/** Requests for one card and package share a group: they run one at a time, oldest first. */
export const entitlementGroup = (smartcardId: string, productId: string): string => `${smartcardId}:${productId}`;

const addSeconds = (iso: string, s: number): string => new Date(Date.parse(iso) + s * 1000).toISOString();

export const tasksFor = (e: OrderEvent | PaymentEvent, cause: Cause, memory: Memory, opts: ScheduleOptions): TaskSpec[] => {
  const make = (
    kind: TaskKind,
    id: string,
    ids: { orderId: string; paymentId: string },
    dueAt: string,
    extra: { seq?: number; template?: SmsTemplate; group?: string; deadline?: string } = {},
  ): TaskSpec => ({
    id,
    kind,
    orderId: ids.orderId,
    paymentId: ids.paymentId,
    seq: extra.seq ?? 0,
    ...(extra.template && { template: extra.template }),
    ...(extra.group !== undefined && { group: extra.group }),
    dueAt,
    ...(extra.deadline !== undefined && { deadline: extra.deadline }),
    createdAt: cause.recordedAt,
    correlationId: cause.correlationId,
    causationId: cause.id,
  });
  const sms = (orderId: string, paymentId: string, template: SmsTemplate, at: string, suffix = ''): TaskSpec =>
    make('sms', `sms:${orderId}:${template}${suffix}`, { orderId, paymentId }, at, { template });
  const callbacksOf = (o: OrderEvent): TaskSpec[] => {
    const c = opts.callbacks ? callbackFor(o) : undefined;
    return c ? [make('callback', c.id, { orderId: o.data.orderId, paymentId: o.type === 'OrderPaid' ? o.data.paymentId : '' }, c.at)] : [];
  };

  switch (e.type) {
    case 'OrderPlaced': {
      const { orderId, paymentId } = e.data;
      return [make('expire', `expire:${orderId}`, { orderId, paymentId }, e.data.expiresAt), sms(orderId, paymentId, 'order-tv', e.data.placedAt)];
    }
    case 'OrderPaymentPending':
      return [make('trade', `trade:${e.data.paymentId}`, { orderId: e.data.orderId, paymentId: e.data.paymentId }, e.data.at)];
    case 'OrderPaid': {
      const { orderId, paymentId, paidAt } = e.data;
      return [
        make('boss', `boss:${orderId}:0`, { orderId, paymentId }, paidAt, { seq: 0, group: memory.group ?? `order:${orderId}` }),
        sms(orderId, paymentId, 'paid-phone', paidAt),
        sms(orderId, paymentId, 'paid-tv', paidAt),
        ...callbacksOf(e),
      ];
    }
    case 'OrderReprovisionRequested': {
      const { orderId, requestNo, at } = e.data;
      return [make('boss', `boss:${orderId}:${requestNo}`, { orderId, paymentId: '' }, at, { seq: requestNo, group: memory.group ?? `order:${orderId}` })];
    }
    case 'OrderProvisioned':
      return [{ ...sms(e.data.orderId, '', 'provisioned-tv', e.data.at, `:${e.data.requestNo}`), seq: e.data.requestNo }, ...callbacksOf(e)];
    case 'OrderProvisioningFailed':
      // Kept for logs written before the refund was requested on the payment (PaymentRefundRequested
      // creates the same task, once).
      return [make('refund', `refund:${e.data.orderId}`, { orderId: e.data.orderId, paymentId: '' }, e.data.at), ...callbacksOf(e)];
    case 'OrderRefunded':
      return [sms(e.data.orderId, '', 'refunded-phone', e.data.at), ...callbacksOf(e)];
    case 'OrderPaymentFailed':
      return [sms(e.data.orderId, '', 'failed-phone', e.data.at), ...callbacksOf(e)];
    case 'OrderCancelled':
    case 'OrderExpired':
      return callbacksOf(e);
    case 'PaymentRequested': {
      const { paymentId, orderId, codeSeq, requestedAt, payBy } = e.data;
      return [codeSms(make, paymentId, orderId, codeSeq, requestedAt, payBy)];
    }
    case 'PaymentCodeResent': {
      const { paymentId, codeSeq, at } = e.data;
      return [codeSms(make, paymentId, memory.payment?.orderId ?? '', codeSeq, at, memory.payment?.payBy)];
    }
    case 'PaymentSubmitted':
      return [
        make(
          'query',
          `query:${e.data.paymentId}`,
          { orderId: memory.payment?.orderId ?? '', paymentId: e.data.paymentId },
          addSeconds(e.data.at, opts.paymentQueryAfterSeconds),
        ),
      ];
    case 'PaymentRefundRequested':
      return [make('refund', `refund:${e.data.orderId}`, { orderId: e.data.orderId, paymentId: e.data.paymentId }, e.data.at)];
    case 'PaymentCodeRejected':
    case 'PaymentConfirmed':
    case 'PaymentDeclined':
    case 'PaymentSucceeded':
    case 'PaymentFailed':
    case 'PaymentFlagged':
    case 'PaymentVoided':
    case 'PaymentReviewed':
    case 'PaymentRefunded':
      return [];
    default:
      return assertNever(e);
  }
};

type Make = (
  kind: TaskKind,
  id: string,
  ids: { orderId: string; paymentId: string },
  dueAt: string,
  extra?: { seq?: number; template?: SmsTemplate; deadline?: string },
) => TaskSpec;

/** The code SMS is the most urgent message, and is tried until the order can no longer be paid. */
const codeSms = (make: Make, paymentId: string, orderId: string, seq: number, at: string, payBy: string | undefined): TaskSpec =>
  make('sms', `sms:${paymentId}:code:${seq}`, { orderId, paymentId }, at, { template: 'code', seq, ...(payBy !== undefined && { deadline: payBy }) });

/** What one order event tells the open platform, or undefined for events it is not told about. */
export type CallbackFacts = {
  /** The task id, which is the callback's callbackId. */
  id: string;
  status: OrderCallbackStatus;
  at: string;
  reason?: string;
  validFrom?: string;
  validUntil?: string;
};

export const callbackFor = (e: OrderEvent): CallbackFacts | undefined => {
  const id = (status: OrderCallbackStatus) => `callback:${e.data.orderId}:${status}`;
  switch (e.type) {
    case 'OrderPaid':
      return { id: id('paid'), status: 'paid', at: e.data.paidAt };
    case 'OrderProvisioned': {
      const { requestNo, validFrom, validUntil, at } = e.data;
      return { id: requestNo === 0 ? id('provisioned') : `${id('provisioned')}:${requestNo}`, status: 'provisioned', at, validFrom, validUntil };
    }
    case 'OrderCancelled':
      return { id: id('cancelled'), status: 'cancelled', at: e.data.at, reason: e.data.reason };
    case 'OrderExpired':
      return { id: id('expired'), status: 'expired', at: e.data.at };
    case 'OrderPaymentFailed':
      return { id: id('payment_failed'), status: 'payment_failed', at: e.data.at, reason: e.data.reason };
    case 'OrderProvisioningFailed':
      return { id: id('provisioning_failed'), status: 'provisioning_failed', at: e.data.at, reason: e.data.reason };
    case 'OrderRefunded':
      return { id: id('refunded'), status: 'refunded', at: e.data.at };
    case 'OrderPlaced':
    case 'OrderPaymentPending':
    case 'OrderReprovisionRequested':
      return undefined;
    default:
      return assertNever(e);
  }
};
