/**
 * The process between the two aggregates: what one aggregate's event asks of the
 * other. No outbound I/O here (that is the reactors' work in projections/).
 *
 * Every step is idempotent (a decider answers [] when it is already so), so the same
 * event may be followed up more than once: inline right after a command for a quick
 * answer, and again by the process reactor, which guarantees it across crashes.
 */
import { DomainError, OrderNotPayable, PaymentAlreadyConfirmed } from '../domain/errors.ts';
import { assertNever } from '../domain/never.ts';
import type { OrderEvent } from '../domain/order/order.ts';
import type { PaymentEvent } from '../domain/payment/payment.ts';
import type { Actor, NewEvent } from '../stores/event-store.ts';
import { orderAggregate, paymentAggregate, readOrderEvent, readPaymentEvent } from './aggregates.ts';
import type { LedgerDeps } from './deps.ts';
import { execute, type CommandContext } from './execute.ts';
import { requestPaymentFor } from './place-order.ts';

export const PROCESS_ACTOR: Actor = { role: 'system', client: 'process' };

/** Context for a command caused by an event: same correlation, caused by the event, keyed by it. */
export const causedBy = (event: Pick<NewEvent, 'id' | 'metadata'>, actor: Actor, step: string): CommandContext => ({
  correlationId: event.metadata.correlationId,
  causationId: event.id,
  actor,
  commandKey: `${step}:${event.id}`,
});

export const followUpAll = async (deps: LedgerDeps, events: readonly NewEvent[]): Promise<void> => {
  for (const e of events) await followUp(deps, e);
};

export const followUp = async (deps: LedgerDeps, event: NewEvent): Promise<void> => {
  const order = readOrderEvent(event);
  if (order) return followOrder(deps, order, event);
  const payment = readPaymentEvent(event);
  if (payment) return followPayment(deps, payment, event);
};

const followOrder = async (deps: LedgerDeps, e: OrderEvent, stored: NewEvent): Promise<void> => {
  const ctx = causedBy(stored, PROCESS_ACTOR, 'follow');
  const now = deps.now();
  switch (e.type) {
    case 'OrderPlaced':
      return requestPaymentFor(deps, e.data, ctx);
    case 'OrderCancelled':
    case 'OrderExpired':
      await ignoring(
        PaymentAlreadyConfirmed,
        execute(deps, paymentAggregate, {
          type: 'VoidPayment',
          paymentId: await paymentIdOf(deps, e.data.orderId),
          reason: e.type === 'OrderExpired' ? 'order_expired' : 'order_cancelled',
          now,
        }, ctx),
      );
      return;
    case 'OrderPaymentPending':
    case 'OrderPaid':
    case 'OrderPaymentFailed':
    case 'OrderProvisioned':
    case 'OrderProvisioningFailed':
    case 'OrderReprovisionRequested':
    case 'OrderRefunded':
      return; // the reactors' business: trade creation, BOSS, refunds, messages
    default:
      return assertNever(e);
  }
};

const followPayment = async (deps: LedgerDeps, e: PaymentEvent, stored: NewEvent): Promise<void> => {
  const ctx = causedBy(stored, PROCESS_ACTOR, 'follow');
  const now = deps.now();
  switch (e.type) {
    case 'PaymentConfirmed':
      try {
        await execute(deps, orderAggregate, { type: 'MarkPaymentPending', orderId: e.data.orderId, paymentId: e.data.paymentId, now }, ctx);
      } catch (err) {
        if (!(err instanceof OrderNotPayable)) throw err;
        // The order closed first (cancelled, expired): this payment must never reach the platform.
        await execute(deps, paymentAggregate, { type: 'VoidPayment', paymentId: e.data.paymentId, reason: 'order_not_payable', now }, causedBy(stored, PROCESS_ACTOR, 'void'));
      }
      return;
    case 'PaymentDeclined':
      await execute(deps, orderAggregate, { type: 'CancelOrder', orderId: e.data.orderId, reason: 'declined', now }, ctx);
      return;
    case 'PaymentFailed':
      // The order may have moved on (closed meanwhile): then there is nothing to do.
      await ignoring(
        DomainError,
        execute(
          deps,
          orderAggregate,
          e.data.reason === 'too_many_wrong_codes'
            ? { type: 'CancelOrder', orderId: e.data.orderId, reason: 'too_many_wrong_codes', now }
            : { type: 'MarkPaymentFailed', orderId: e.data.orderId, reason: e.data.reason, now },
          ctx,
        ),
      );
      return;
    case 'PaymentSucceeded':
      await execute(
        deps,
        orderAggregate,
        { type: 'MarkPaid', orderId: e.data.orderId, paymentId: e.data.paymentId, tradeNo: e.data.tradeNo, amount: e.data.amount, paidAt: e.data.paidAt },
        ctx,
      );
      return;
    case 'PaymentFlagged':
      await ignoring(
        OrderNotPayable,
        execute(deps, orderAggregate, { type: 'MarkPaymentFailed', orderId: e.data.orderId, reason: e.data.reason, now }, ctx),
      );
      return;
    case 'PaymentRefunded':
      // Refunds follow a final BOSS refusal; other refunds (flagged money) leave the order as it is.
      await ignoring(
        DomainError,
        execute(deps, orderAggregate, { type: 'MarkRefunded', orderId: e.data.orderId, refundNo: e.data.refundNo, amount: e.data.amount, now }, ctx),
      );
      return;
    case 'PaymentRequested':
    case 'PaymentCodeRejected':
    case 'PaymentCodeResent':
    case 'PaymentSubmitted':
    case 'PaymentVoided':
      return;
    default:
      return assertNever(e);
  }
};

const paymentIdOf = async (deps: LedgerDeps, orderId: string): Promise<string> => {
  const placed = (await deps.store.readStream(`order-${orderId}`)).map(readOrderEvent).find((e) => e?.type === 'OrderPlaced');
  if (placed?.type !== 'OrderPlaced') throw new Error(`order ${orderId} has no OrderPlaced event`);
  return placed.data.paymentId;
};

type ErrorClass = abstract new (...args: never[]) => Error;

/** Awaits the step; an error of the given class means "the other side has moved on" and is not a failure. */
const ignoring = async (cls: ErrorClass, step: Promise<unknown>): Promise<void> => {
  try {
    await step;
  } catch (err) {
    if (!(err instanceof cls)) throw err;
  }
};
