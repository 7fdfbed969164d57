/**
 * What each event of the log adds to the business counters (http/metrics.ts). Pure: the metrics
 * count an event once, when the orders projection commits it (see compose.ts).
 *
 * The label values are listed here in full, so every series exists at 0 from the start; the
 * `Record<…>` tables make the compiler name any new reason or outcome the domain adds.
 */
import type { StoredEvent } from '../commands/aggregates.ts';
import type { Currency, Money } from '../domain/money.ts';
import { assertNever } from '../domain/never.ts';
import { readOrderEvent, type OrderEvent } from '../domain/order/order.ts';
import { readPaymentEvent, type FailureReason, type FlagReason, type PaymentEvent, type RefundReason, type VoidReason } from '../domain/payment/payment.ts';
import { TASK_KINDS, readTaskEvent, type GiveUpReason } from '../outbound/task.ts';

export const ORDER_OUTCOMES = [
  'placed',
  'paid',
  'provisioned',
  'reprovisioned',
  'cancelled',
  'expired',
  'payment_failed',
  'provisioning_failed',
  'refunded',
] as const;
export type OrderOutcome = (typeof ORDER_OUTCOMES)[number];

const FAILURE_REASONS: Record<FailureReason, true> = { too_many_wrong_codes: true, platform_failed: true, platform_closed: true, trade_not_created: true };
const REFUND_REASONS: Record<RefundReason, true> = { unexpected_success: true, order_closed: true, provisioning_failed: true, review: true };
const GIVE_UP_REASONS: Record<GiveUpReason, true> = { refused: true, exhausted: true, deadline: true };
export const TASK_GIVE_UP_REASONS: readonly string[] = Object.keys(GIVE_UP_REASONS);
const FLAG_REASONS: Record<FlagReason, true> = { amount_mismatch: true, unexpected_success: true };
const VOID_REASONS: Record<VoidReason, true> = { order_cancelled: true, order_expired: true, order_not_payable: true };
const CURRENCIES: Record<Currency, true> = { CNY: true };

/** `reason` is `none` where the outcome has no reason. */
export type PaymentOutcome = { outcome: 'succeeded' | 'failed' | 'declined' | 'voided' | 'flagged' | 'refund_requested' | 'refunded'; reason: string };

export const PAYMENT_OUTCOMES: readonly PaymentOutcome[] = [
  { outcome: 'succeeded', reason: 'none' },
  ...Object.keys(FAILURE_REASONS).map((reason) => ({ outcome: 'failed' as const, reason })),
  { outcome: 'declined', reason: 'none' },
  ...Object.keys(VOID_REASONS).map((reason) => ({ outcome: 'voided' as const, reason })),
  ...Object.keys(FLAG_REASONS).map((reason) => ({ outcome: 'flagged' as const, reason })),
  ...Object.keys(REFUND_REASONS).map((reason) => ({ outcome: 'refund_requested' as const, reason })),
  { outcome: 'refunded', reason: 'none' },
];

export const CURRENCY_CODES: readonly string[] = Object.keys(CURRENCIES);

/** The kind of a task, from its id (`<kind>:…`, outbound/schedule.ts); `other` for an id of no known kind. */
export const taskKindOf = (taskId: string): string => {
  const kind = taskId.slice(0, taskId.indexOf(':'));
  return (TASK_KINDS as readonly string[]).includes(kind) ? kind : 'other';
};

export type Count =
  | { metric: 'orders'; outcome: OrderOutcome }
  | ({ metric: 'payments' } & PaymentOutcome)
  /** Money, in fen, by currency: charged (a payment succeeded), refunded, flagged for review (as reported). */
  | { metric: 'charged_fen' | 'refunded_fen' | 'flagged_fen'; currency: string; fen: number }
  | { metric: 'tasks_abandoned'; kind: string; reason: string };

const orderCounts = (e: OrderEvent): Count[] => {
  const order = (outcome: OrderOutcome): Count[] => [{ metric: 'orders', outcome }];
  switch (e.type) {
    case 'OrderPlaced':
      return order('placed');
    case 'OrderPaid':
      return order('paid');
    case 'OrderProvisioned':
      return order(e.data.requestNo === 0 ? 'provisioned' : 'reprovisioned');
    case 'OrderCancelled':
      return order('cancelled');
    case 'OrderExpired':
      return order('expired');
    case 'OrderPaymentFailed':
      return order('payment_failed');
    case 'OrderProvisioningFailed':
      return order('provisioning_failed');
    case 'OrderRefunded':
      return order('refunded');
    case 'OrderPaymentPending':
    case 'OrderReprovisionRequested':
      return [];
    default:
      return assertNever(e);
  }
};

const paymentCounts = (e: PaymentEvent): Count[] => {
  const payment = (outcome: PaymentOutcome['outcome'], reason = 'none'): Count => ({ metric: 'payments', outcome, reason });
  const fen = (metric: Extract<Count, { fen: number }>['metric'], m: Money): Count => ({ metric, currency: m.currency, fen: m.value });
  switch (e.type) {
    case 'PaymentSucceeded':
      return [payment('succeeded'), fen('charged_fen', e.data.amount)];
    case 'PaymentFailed':
      return [payment('failed', e.data.reason)];
    case 'PaymentDeclined':
      return [payment('declined')];
    case 'PaymentVoided':
      return [payment('voided', e.data.reason)];
    case 'PaymentFlagged':
      return [payment('flagged', e.data.reason), fen('flagged_fen', e.data.reported)];
    case 'PaymentRefunded':
      return [payment('refunded'), fen('refunded_fen', e.data.amount)];
    case 'PaymentRefundRequested':
      return [payment('refund_requested', e.data.reason)];
    case 'PaymentRequested':
    case 'PaymentCodeRejected':
    case 'PaymentCodeResent':
    case 'PaymentConfirmed':
    case 'PaymentSubmitted':
    case 'PaymentReviewed':
      return [];
    default:
      return assertNever(e);
  }
};

export const countsOf = (event: StoredEvent): Count[] => {
  const order = readOrderEvent(event);
  if (order) return orderCounts(order);
  const payment = readPaymentEvent(event);
  if (payment) return paymentCounts(payment);
  const task = readTaskEvent(event);
  // A give-up written before reasons were recorded ran out of attempts.
  if (task?.type === 'TaskAbandoned') return [{ metric: 'tasks_abandoned', kind: taskKindOf(task.data.taskId), reason: task.data.reason ?? 'exhausted' }];
  return [];
};
