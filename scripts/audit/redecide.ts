/**
 * The audit that re-decides. `evolve` folds any fact it is given; the question here is the other
 * one: could the deciders have produced this event? For every event of an order or payment stream:
 *
 * 1. the table below rebuilds the command that produces it, from the event itself, or from the
 *    event that caused it where the workflow derives the command from its cause (OrderPaid from
 *    the PaymentSucceeded it follows: the amount and trade come from there, not from OrderPaid);
 * 2. the decider runs that command on the state before the event, as the service would have;
 * 3. the event must be exactly the decider's first event, and the next events of the stream the
 *    rest of that decision (a fifth wrong code is PaymentCodeRejected + PaymentFailed);
 * 4. the entry's guard checks what a single decider cannot see: money only with its goods (no
 *    provisioning without a succeeded payment, no refund while the order holds or may get its
 *    goods, no refund above the charge, goods for as long as was paid), the trade, the ids.
 *
 * One table per aggregate, one entry per event type: a new event type that is not in the table
 * does not compile.
 */
import { uuidFrom, canonicalJson } from '../../commands/ids.ts';
import { decideOrder, type OrderCommand } from '../../domain/order/decide.ts';
import { evolveOrder, initialOrder, type Order, type OrderEvent } from '../../domain/order/order.ts';
import { decidePayment, type PaymentCommand } from '../../domain/payment/decide.ts';
import { evolvePayment, initialPayment, type Payment, type PaymentEvent } from '../../domain/payment/payment.ts';
import { assertNever } from '../../domain/never.ts';
import { cny, type Money } from '../../domain/money.ts';

type DomainEvent = OrderEvent | PaymentEvent;
/** A broken rule: kebab-case name and what is wrong, in words. */
export type Problem = { rule: string; message: string };

/** What an entry may look at: the states before the event, and the event that caused it (if it precedes it). */
export type Ctx = {
  streamId: string;
  order: Order;
  payment: Payment;
  cause: DomainEvent | undefined;
};

type Entry<D, C> = {
  /** The command that produces the event, or why there can be none. */
  command: (d: D, ctx: Ctx) => C | Problem;
  /** Rules across aggregates; undefined when the event keeps them. */
  guard?: (d: D, ctx: Ctx) => Problem | undefined;
};

type OrderData = { [E in OrderEvent as E['type']]: E['data'] };
type PaymentData = { [E in PaymentEvent as E['type']]: E['data'] };

const isProblem = (x: object): x is Problem => 'rule' in x && 'message' in x;
const at = (iso: string): Date => new Date(iso);
const secondsBetween = (from: string, to: string): number => (Date.parse(to) - Date.parse(from)) / 1000;
const fen = (m: Money): string => `${m.value} fen`;

/** The cause's data when it is an event of the given type. */
const causeOf = <T extends DomainEvent['type']>(ctx: Ctx, ...types: T[]): Extract<DomainEvent, { type: T }> | undefined =>
  ctx.cause && (types as string[]).includes(ctx.cause.type) ? (ctx.cause as Extract<DomainEvent, { type: T }>) : undefined;

const noCause = (event: string, causes: string): Problem => ({ rule: 'missing-cause', message: `${event} is not caused by ${causes} earlier in the log` });

/** Order statuses in which the order has accepted its payment, so money may reach the platform. */
const ACCEPTED: ReadonlySet<Order['status']> = new Set(['payment_pending', 'paid', 'provisioned', 'provisioning_failed', 'refunded', 'payment_failed']);
const orderAccepted = (ctx: Ctx, what: string): Problem | undefined =>
  ACCEPTED.has(ctx.order.status) ? undefined : { rule: 'money-without-order', message: `${what} while its order is ${ctx.order.status}: the order never accepted this payment` };

const moneyOf = (p: Payment): Money => ('amount' in p ? p.amount : cny(0));

export const ORDER_RULES: { [K in keyof OrderData]: Entry<OrderData[K], OrderCommand> } = {
  OrderPlaced: {
    command: (d) => ({
      type: 'PlaceOrder',
      orderId: d.orderId,
      paymentId: d.paymentId,
      subscriberId: d.subscriberId,
      smartcardId: d.smartcardId,
      msisdn: d.msisdn,
      product: { ...d.product, description: '', price: d.amount },
      client: d.client,
      requestHash: d.requestHash,
      ttlSeconds: secondsBetween(d.placedAt, d.expiresAt),
      now: at(d.placedAt),
    }),
    guard: (d, ctx) =>
      ctx.streamId !== `order-${d.orderId}`
        ? { rule: 'ids', message: `OrderPlaced for order ${d.orderId} sits in ${ctx.streamId}` }
        : d.paymentId !== uuidFrom('payment', d.orderId)
          ? { rule: 'ids', message: `payment id ${d.paymentId} is not the one derived from order ${d.orderId}` }
          : undefined,
  },
  OrderPaymentPending: {
    command: (d, ctx) =>
      causeOf(ctx, 'PaymentConfirmed')?.data.paymentId === d.paymentId
        ? { type: 'MarkPaymentPending', orderId: d.orderId, paymentId: d.paymentId, now: at(d.at) }
        : noCause('OrderPaymentPending', 'the PaymentConfirmed of its payment'),
  },
  OrderPaid: {
    command: (d, ctx) => {
      const paid = causeOf(ctx, 'PaymentSucceeded');
      if (!paid) return noCause('OrderPaid', 'a PaymentSucceeded');
      const p = paid.data;
      return { type: 'MarkPaid', orderId: d.orderId, paymentId: p.paymentId, tradeNo: p.tradeNo, amount: p.amount, paidAt: p.paidAt };
    },
    guard: (d, ctx) =>
      ctx.order.status !== 'none' && ctx.order.amount.value !== d.amount.value
        ? { rule: 'amount', message: `order costs ${fen(ctx.order.amount)} but was paid ${fen(d.amount)}` }
        : undefined,
  },
  OrderPaymentFailed: {
    command: (d, ctx) => {
      const failed = causeOf(ctx, 'PaymentFailed', 'PaymentFlagged');
      return failed ? { type: 'MarkPaymentFailed', orderId: d.orderId, reason: failed.data.reason, now: at(d.at) } : noCause('OrderPaymentFailed', 'a PaymentFailed or PaymentFlagged');
    },
  },
  OrderCancelled: {
    command: (d, ctx) => {
      switch (d.reason) {
        case 'customer':
          break;
        case 'declined':
          if (!causeOf(ctx, 'PaymentDeclined')) return noCause('OrderCancelled (declined)', 'a PaymentDeclined');
          break;
        case 'too_many_wrong_codes':
          if (causeOf(ctx, 'PaymentFailed')?.data.reason !== 'too_many_wrong_codes') return noCause('OrderCancelled (too many wrong codes)', 'the PaymentFailed of the fifth wrong code');
          break;
        default:
          return assertNever(d.reason);
      }
      return { type: 'CancelOrder', orderId: d.orderId, reason: d.reason, now: at(d.at) };
    },
  },
  OrderExpired: { command: (d) => ({ type: 'ExpireOrder', orderId: d.orderId, now: at(d.at) }) },
  OrderProvisioned: {
    command: (d) => ({ type: 'MarkProvisioned', orderId: d.orderId, requestNo: d.requestNo, bossRef: d.bossRef, validFrom: d.validFrom, validUntil: d.validUntil, now: at(d.at) }),
    guard: (d, ctx) => {
      if (ctx.payment.status !== 'succeeded') return { rule: 'goods-without-money', message: `channels opened while the order's payment is ${ctx.payment.status}` };
      const days = secondsBetween(d.validFrom, d.validUntil) / 86_400;
      if (ctx.order.status !== 'none' && days !== ctx.order.product.periodDays) {
        return { rule: 'goods-differ', message: `channels opened for ${days} days, ${ctx.order.product.periodDays} were paid for` };
      }
      return undefined;
    },
  },
  OrderProvisioningFailed: {
    command: (d) => ({ type: 'MarkProvisioningFailed', orderId: d.orderId, requestNo: d.requestNo, reason: d.reason, now: at(d.at) }),
  },
  OrderReprovisionRequested: { command: (d) => ({ type: 'RequestReprovision', orderId: d.orderId, now: at(d.at) }) },
  OrderRefunded: {
    command: (d, ctx) => {
      const refunded = causeOf(ctx, 'PaymentRefunded');
      if (!refunded) return noCause('OrderRefunded', 'a PaymentRefunded');
      return { type: 'MarkRefunded', orderId: d.orderId, refundNo: refunded.data.refundNo, amount: refunded.data.amount, now: at(d.at) };
    },
  },
};

export const PAYMENT_RULES: { [K in keyof PaymentData]: Entry<PaymentData[K], PaymentCommand> } = {
  PaymentRequested: {
    command: (d, ctx) => {
      const o = ctx.order;
      if (o.status === 'none') return { rule: 'missing-order', message: `payment requested for order ${d.orderId}, which was never placed` };
      return {
        type: 'RequestPayment',
        paymentId: d.paymentId,
        orderId: d.orderId,
        amount: o.amount,
        msisdn: o.msisdn,
        subject: o.product.name,
        payBy: o.expiresAt,
        codeTtlSeconds: secondsBetween(d.requestedAt, d.codeExpiresAt),
        // The payment is requested as of the order's placement (commands/place-order.ts).
        now: at(o.placedAt),
      };
    },
    guard: (d, ctx) =>
      ctx.streamId !== `payment-${d.paymentId}` || (ctx.order.status !== 'none' && ctx.order.paymentId !== d.paymentId)
        ? { rule: 'ids', message: `payment ${d.paymentId} in ${ctx.streamId} is not the payment of order ${d.orderId}` }
        : undefined,
  },
  PaymentCodeRejected: { command: (d) => ({ type: 'ConfirmPayment', paymentId: d.paymentId, codeMatches: false, now: at(d.at) }) },
  PaymentCodeResent: {
    command: (d) => ({ type: 'ResendCode', paymentId: d.paymentId, codeTtlSeconds: secondsBetween(d.at, d.codeExpiresAt), now: at(d.at) }),
  },
  PaymentConfirmed: { command: (d) => ({ type: 'ConfirmPayment', paymentId: d.paymentId, codeMatches: true, now: at(d.at) }) },
  PaymentDeclined: { command: (d) => ({ type: 'DeclinePayment', paymentId: d.paymentId, now: at(d.at) }) },
  PaymentSubmitted: {
    command: (d) => ({ type: 'RecordTradeCreated', paymentId: d.paymentId, tradeNo: d.tradeNo, now: at(d.at) }),
    guard: (_d, ctx) => orderAccepted(ctx, 'trade created'),
  },
  PaymentSucceeded: {
    command: (d) => ({
      type: 'RecordPlatformResult',
      paymentId: d.paymentId,
      source: d.source,
      notificationId: d.notificationId,
      tradeNo: d.tradeNo,
      status: 'SUCCESS',
      amount: d.amount,
      paidAt: d.paidAt,
      now: at(d.at),
    }),
    guard: (d, ctx) =>
      ctx.payment.status === 'submitted' && ctx.payment.tradeNo !== d.tradeNo
        ? { rule: 'trade', message: `paid by trade ${d.tradeNo}, but the trade created for this payment is ${ctx.payment.tradeNo}` }
        : orderAccepted(ctx, 'money taken'),
  },
  PaymentFailed: {
    command: (d, ctx) => {
      switch (d.reason) {
        case 'too_many_wrong_codes':
          // Only ever the second half of a fifth wrong code's decision.
          return { type: 'ConfirmPayment', paymentId: d.paymentId, codeMatches: false, now: at(d.at) };
        case 'platform_failed':
        case 'platform_closed':
          return {
            type: 'RecordPlatformResult',
            paymentId: d.paymentId,
            source: 'notification',
            notificationId: '',
            tradeNo: '',
            status: d.reason === 'platform_failed' ? 'FAILED' : 'CLOSED',
            amount: moneyOf(ctx.payment),
            failureReason: d.detail,
            now: at(d.at),
          };
        default:
          return assertNever(d.reason);
      }
    },
  },
  PaymentFlagged: {
    command: (d) => ({
      type: 'RecordPlatformResult',
      paymentId: d.paymentId,
      source: 'notification',
      notificationId: d.notificationId,
      tradeNo: d.tradeNo,
      status: 'SUCCESS',
      amount: d.reported,
      now: at(d.at),
    }),
  },
  PaymentVoided: { command: (d) => ({ type: 'VoidPayment', paymentId: d.paymentId, reason: d.reason, now: at(d.at) }) },
  PaymentRefunded: {
    command: (d) => ({ type: 'RecordRefund', paymentId: d.paymentId, refundNo: d.refundNo, amount: d.amount, now: at(d.at) }),
    guard: (d, ctx) => {
      const p = ctx.payment;
      const charged = p.status === 'flagged' ? p.reported : moneyOf(p);
      if (d.amount.value > charged.value) return { rule: 'refund-above-charge', message: `refunds ${fen(d.amount)} of a charge of ${fen(charged)}` };
      // Charged money goes back only when the goods cannot be delivered.
      if (p.status === 'succeeded' && ctx.order.status !== 'provisioning_failed') {
        return { rule: 'refund-with-goods', message: `refunded while its order is ${ctx.order.status}: the subscriber would keep both the channels and the money` };
      }
      return undefined;
    },
  },
};

type Decided = { events: readonly DomainEvent[] } | Problem;

const run = (decide: () => DomainEvent[]): Decided => {
  try {
    return { events: decide() };
  } catch (err) {
    // A domain error names the rule; anything else means the event's data is not what the decider expects.
    return { rule: 'decider-refuses', message: `the deciders refuse it: ${err instanceof Error ? err.message : String(err)}` };
  }
};

const redecideOrder = <K extends keyof OrderData>(type: K, data: OrderData[K], ctx: Ctx): { guard?: Problem; decided: Decided } => {
  const rule: Entry<OrderData[K], OrderCommand> = ORDER_RULES[type];
  const cmd = rule.command(data, ctx);
  const guard = rule.guard?.(data, ctx);
  return { ...(guard && { guard }), decided: isProblem(cmd) ? cmd : run(() => decideOrder(cmd, ctx.order)) };
};

const redecidePayment = <K extends keyof PaymentData>(type: K, data: PaymentData[K], ctx: Ctx): { guard?: Problem; decided: Decided } => {
  const rule: Entry<PaymentData[K], PaymentCommand> = PAYMENT_RULES[type];
  const cmd = rule.command(data, ctx);
  const guard = rule.guard?.(data, ctx);
  return { ...(guard && { guard }), decided: isProblem(cmd) ? cmd : run(() => decidePayment(cmd, ctx.payment)) };
};

/** Where the decider's event and the recorded one differ, field by field (data only). */
export const differences = (expected: DomainEvent, actual: DomainEvent): string => {
  if (expected.type !== actual.type) return `the decider records ${expected.type}, not ${actual.type}`;
  const e: Record<string, unknown> = { ...expected.data };
  const a: Record<string, unknown> = { ...actual.data };
  const fields = [...new Set([...Object.keys(e), ...Object.keys(a)])].filter((k) => canonicalJson(e[k]) !== canonicalJson(a[k]));
  return fields.map((k) => `${k}: decided ${canonicalJson(e[k]) ?? 'nothing'}, recorded ${canonicalJson(a[k]) ?? 'nothing'}`).join('; ');
};

/** One stream's replay: its state, and the rest of a decision still to be seen in it. */
type StreamReplay = { queue: DomainEvent[] };

/** An event of an order or a payment stream, as its aggregate reads it. */
export type Replayed = { aggregate: 'order'; event: OrderEvent } | { aggregate: 'payment'; event: PaymentEvent };

export type Redecider = {
  /** Checks one event before it is folded into its stream's state; returns what is wrong with it. */
  check(streamId: string, replayed: Replayed, cause: DomainEvent | undefined): Problem[];
  /** Streams that end in the middle of a decision: the events the decider would have recorded next. */
  unfinished(): { streamId: string; next: DomainEvent }[];
  orders: Map<string, Order>;
  payments: Map<string, Payment>;
};

export const redecider = (): Redecider => {
  const orders = new Map<string, Order>();
  const payments = new Map<string, Payment>();
  const streams = new Map<string, StreamReplay>();

  const orderOf = (orderId: unknown): Order => (typeof orderId === 'string' ? orders.get(orderId) : undefined) ?? initialOrder;
  const paymentOf = (paymentId: unknown): Payment => (typeof paymentId === 'string' ? payments.get(paymentId) : undefined) ?? initialPayment;

  const check = (streamId: string, replayed: Replayed, cause: DomainEvent | undefined): Problem[] => {
    const e = replayed.event;
    const isOrder = replayed.aggregate === 'order';
    const id = streamId.slice(streamId.indexOf('-') + 1);
    const own = paymentOf(id);
    const order = isOrder ? orderOf(id) : orderOf('orderId' in e.data ? e.data.orderId : own.status === 'none' ? undefined : own.orderId);
    const payment = isOrder ? paymentOf(order.status === 'none' ? undefined : order.paymentId) : own;
    const replay = streams.get(streamId) ?? { queue: [] };
    streams.set(streamId, replay);
    const problems: Problem[] = [];

    const queued = replay.queue.shift();
    if (queued) {
      if (canonicalJson(queued) !== canonicalJson({ type: e.type, data: e.data })) {
        problems.push({ rule: 'decision-incomplete', message: `the decision before it goes on with ${queued.type}: ${differences(queued, e)}` });
      }
    } else {
      const ctx: Ctx = { streamId, order, payment, cause };
      let result: ReturnType<typeof redecideOrder>;
      try {
        result =
          replayed.aggregate === 'order'
            ? redecideOrder(replayed.event.type, replayed.event.data, ctx)
            : redecidePayment(replayed.event.type, replayed.event.data, ctx);
      } catch (err) {
        // The event's data is not the shape its type has: a command cannot even be built from it.
        result = { decided: { rule: 'malformed', message: `its data is not a ${e.type}: ${err instanceof Error ? err.message : String(err)}` } };
      }
      if (result.guard) problems.push(result.guard);
      const decided = result.decided;
      if (isProblem(decided)) problems.push(decided);
      else {
        const [first, ...rest] = decided.events;
        if (!first) problems.push({ rule: 'decider-no-op', message: `the deciders would record nothing here: the ${isOrder ? 'order' : 'payment'} was already ${isOrder ? order.status : payment.status}` });
        else if (canonicalJson(first) !== canonicalJson({ type: e.type, data: e.data })) problems.push({ rule: 'not-decided', message: differences(first, e) });
        else replay.queue.push(...rest);
      }
    }
    if (replayed.aggregate === 'order') orders.set(id, evolveOrder(order, replayed.event));
    else payments.set(id, evolvePayment(payment, replayed.event));
    return problems;
  };

  const unfinished = (): { streamId: string; next: DomainEvent }[] =>
    [...streams.entries()].flatMap(([streamId, r]) => (r.queue[0] ? [{ streamId, next: r.queue[0] }] : []));

  return { check, unfinished, orders, payments };
};
