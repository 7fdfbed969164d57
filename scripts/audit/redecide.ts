/**
 * The audit that re-decides. `evolve` folds any fact it is given; the question here is the other
 * one: could the deciders have produced this event? For every event of an order or payment stream:
 *
 * 1. the table below rebuilds the command that produces it, from the event itself, or, where the
 *    workflow (commands/workflow.ts) derives the command from the event that caused it, by asking
 *    the workflow what that cause leads to (OrderPaid from the PaymentSucceeded it follows: the
 *    amount and trade come from there, not from OrderPaid). Where logs written before a change of
 *    the rules hold another shape, the entry offers that older command too;
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
import { canonicalJson, paymentIdFor } from '../../commands/ids.ts';
import { react, type FollowUp } from '../../commands/workflow.ts';
import { decideOrder, type OrderCommand } from '../../domain/order/decide.ts';
import { evolveOrder, initialOrder, type CancelReason, type Order, type OrderEvent } from '../../domain/order/order.ts';
import { decidePayment, type PaymentCommand, type RecordPlatformResult, type RequestRefund } from '../../domain/payment/decide.ts';
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
  /** The command that produces the event (or the commands that could have, in order), or why there can be none. */
  command: (d: D, ctx: Ctx) => C | readonly C[] | Problem;
  /** Rules across aggregates; undefined when the event keeps them. */
  guard?: (d: D, ctx: Ctx) => Problem | undefined;
};

type OrderData = { [E in OrderEvent as E['type']]: E['data'] };
type PaymentData = { [E in PaymentEvent as E['type']]: E['data'] };

const isProblem = (x: object): x is Problem => 'rule' in x && 'message' in x;

type Command = OrderCommand | PaymentCommand;

/**
 * What the workflow asks of the aggregate `to` when `cause` happened at `now`: the follow-up
 * commands, including the one it runs instead when the first is refused (`otherwise`).
 */
const followUps = (cause: DomainEvent | undefined, now: string, to: FollowUp['to']): Command[] => {
  if (!cause) return [];
  const out: Command[] = [];
  const walk = (f: FollowUp): void => {
    if (f.to === to) out.push(f.cmd);
    if (f.otherwise) walk(f.otherwise.then);
  };
  for (const f of react(cause, { now: new Date(now), codeTtlSeconds: 0 })) walk(f);
  return out;
};

/** The follow-ups of the cause that are commands of this type, or why there are none. */
const fromCause = <T extends Command['type']>(
  ctx: Ctx,
  now: string,
  to: FollowUp['to'],
  type: T,
  event: string,
  causes: string,
): Extract<Command, { type: T }>[] | Problem => {
  const found = followUps(ctx.cause, now, to).filter((c): c is Extract<Command, { type: T }> => c.type === type);
  return found.length > 0 ? found : noCause(event, causes);
};
const at = (iso: string): Date => new Date(iso);
const secondsBetween = (from: string, to: string): number => (Date.parse(to) - Date.parse(from)) / 1000;
const fen = (m: Money): string => `${m.value} fen`;

/** The cause's data when it is an event of the given type. */
const causeOf = <T extends DomainEvent['type']>(ctx: Ctx, ...types: T[]): Extract<DomainEvent, { type: T }> | undefined =>
  ctx.cause && (types as string[]).includes(ctx.cause.type) ? (ctx.cause as Extract<DomainEvent, { type: T }>) : undefined;

const noCause = (event: string, causes: string): Problem => ({ rule: 'missing-cause', message: `${event} is not caused by ${causes} earlier in the log` });

/** What the workflow cancels an order after, by the cancellation's reason (the customer's own has no cause). */
const CANCEL_CAUSES: Record<Exclude<CancelReason, 'customer'>, string> = {
  declined: 'a PaymentDeclined',
  too_many_wrong_codes: 'the PaymentFailed of the fifth wrong code',
};
/** What the workflow asks for a refund after, by the refund's reason. */
const REFUND_CAUSES: Record<RequestRefund['reason'], string> = {
  order_closed: 'a PaymentSucceeded its order refused',
  provisioning_failed: 'an OrderProvisioningFailed',
};

/** Order statuses in which the order has accepted its payment, so money may reach the platform. */
const ACCEPTED: ReadonlySet<Order['status']> = new Set(['payment_pending', 'paid', 'provisioned', 'provisioning_failed', 'refunded', 'payment_failed']);
const orderAccepted = (ctx: Ctx, what: string): Problem | undefined =>
  ACCEPTED.has(ctx.order.status)
    ? undefined
    : { rule: 'money-without-order', message: `${what} while its order is ${ctx.order.status}: the order never accepted this payment` };

/** The platform's result, as of the event's time; by notification, with no notification or trade number, unless given. */
const platformResult = (
  d: { paymentId: string; at: string },
  result: Pick<RecordPlatformResult, 'status' | 'amount'> &
    Partial<Pick<RecordPlatformResult, 'source' | 'notificationId' | 'tradeNo' | 'paidAt' | 'failureReason'>>,
): RecordPlatformResult => ({
  type: 'RecordPlatformResult',
  paymentId: d.paymentId,
  source: 'notification',
  notificationId: '',
  tradeNo: '',
  ...result,
  now: at(d.at),
});

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
        : d.paymentId !== paymentIdFor(d.orderId)
          ? { rule: 'ids', message: `payment id ${d.paymentId} is not the one derived from order ${d.orderId}` }
          : undefined,
  },
  OrderPaymentPending: {
    command: (d, ctx) => fromCause(ctx, d.at, 'order', 'MarkPaymentPending', 'OrderPaymentPending', 'the PaymentConfirmed of its payment'),
  },
  OrderPaid: {
    command: (d, ctx) => {
      const paid = fromCause(ctx, d.paidAt, 'order', 'MarkPaid', 'OrderPaid', 'a PaymentSucceeded');
      if (isProblem(paid)) return paid;
      const succeeded = causeOf(ctx, 'PaymentSucceeded');
      // Logs written before partner clocks were distrusted paid the order at the platform's paidAt.
      const legacy = succeeded && d.platformPaidAt === undefined ? paid.map(({ platformPaidAt: _p, ...c }) => ({ ...c, paidAt: succeeded.data.paidAt })) : [];
      return [...paid, ...legacy];
    },
    guard: (d, ctx) =>
      ctx.order.status !== 'none' && ctx.order.amount.value !== d.amount.value && ctx.cause?.type === 'PaymentSucceeded' && ctx.cause.data.source !== 'review'
        ? { rule: 'amount', message: `order costs ${fen(ctx.order.amount)} but was paid ${fen(d.amount)}` }
        : undefined,
  },
  OrderPaymentFailed: {
    command: (d, ctx) => {
      const failed = fromCause(ctx, d.at, 'order', 'MarkPaymentFailed', 'OrderPaymentFailed', 'a PaymentFailed or PaymentFlagged');
      // Before admins reviewed mismatched amounts, any flag failed the order.
      const flagged = causeOf(ctx, 'PaymentFlagged');
      const legacy: OrderCommand[] = flagged ? [{ type: 'MarkPaymentFailed', orderId: d.orderId, reason: flagged.data.reason, now: at(d.at) }] : [];
      return isProblem(failed) ? (legacy.length > 0 ? legacy : failed) : [...failed, ...legacy];
    },
  },
  OrderCancelled: {
    command: (d, ctx) =>
      d.reason === 'customer'
        ? { type: 'CancelOrder', orderId: d.orderId, reason: d.reason, now: at(d.at) }
        : fromCause(ctx, d.at, 'order', 'CancelOrder', `OrderCancelled (${d.reason})`, CANCEL_CAUSES[d.reason]),
  },
  OrderExpired: { command: (d) => ({ type: 'ExpireOrder', orderId: d.orderId, now: at(d.at) }) },
  OrderProvisioned: {
    command: (d) => ({
      type: 'MarkProvisioned',
      orderId: d.orderId,
      requestNo: d.requestNo,
      bossRef: d.bossRef,
      validFrom: d.validFrom,
      validUntil: d.validUntil,
      now: at(d.at),
    }),
    guard: (d, ctx) => {
      if (ctx.payment.status !== 'succeeded')
        return { rule: 'goods-without-money', message: `channels opened while the order's payment is ${ctx.payment.status}` };
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
    command: (d, ctx) => fromCause(ctx, d.at, 'order', 'MarkRefunded', 'OrderRefunded', 'a PaymentRefunded'),
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
  PaymentCodeRejected: { command: (d) => confirmWith(d, false) },
  PaymentCodeResent: {
    command: (d, ctx) => {
      const seq = ctx.payment.status === 'awaiting_confirmation' ? ctx.payment.code.seq : 0;
      const base = { type: 'ResendCode', paymentId: d.paymentId, codeTtlSeconds: secondsBetween(d.at, d.codeExpiresAt), now: at(d.at) } as const;
      // Whether the last code reached the gateway is the SMS task's to say: either answer may have been given.
      return [
        { ...base, codeDelivered: { seq, delivered: true } },
        { ...base, codeDelivered: { seq, delivered: false } },
      ];
    },
  },
  PaymentConfirmed: { command: (d) => confirmWith(d, true) },
  PaymentDeclined: { command: (d) => ({ type: 'DeclinePayment', paymentId: d.paymentId, now: at(d.at) }) },
  PaymentSubmitted: {
    command: (d) => ({ type: 'RecordTradeCreated', paymentId: d.paymentId, tradeNo: d.tradeNo, now: at(d.at) }),
    guard: (_d, ctx) => orderAccepted(ctx, 'trade created'),
  },
  PaymentSucceeded: {
    command: (d) =>
      platformResult(d, { source: d.source, notificationId: d.notificationId, tradeNo: d.tradeNo, status: 'SUCCESS', amount: d.amount, paidAt: d.paidAt }),
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
          return confirmWith(d, false);
        case 'trade_not_created':
          return { type: 'RecordTradeNotCreated', paymentId: d.paymentId, detail: d.detail, now: at(d.at) };
        case 'platform_failed':
        case 'platform_closed':
          return platformResult(d, { status: d.reason === 'platform_failed' ? 'FAILED' : 'CLOSED', amount: moneyOf(ctx.payment), failureReason: d.detail });
        default:
          return assertNever(d.reason);
      }
    },
  },
  PaymentFlagged: {
    command: (d) => platformResult(d, { notificationId: d.notificationId, tradeNo: d.tradeNo, status: 'SUCCESS', amount: d.reported }),
  },
  PaymentVoided: { command: (d) => ({ type: 'VoidPayment', paymentId: d.paymentId, reason: d.reason, now: at(d.at) }) },
  PaymentRefundRequested: {
    command: (d, ctx) => {
      switch (d.reason) {
        case 'order_closed':
        case 'provisioning_failed':
          return fromCause(ctx, d.at, 'payment', 'RequestRefund', `PaymentRefundRequested (${d.reason})`, REFUND_CAUSES[d.reason]);
        case 'unexpected_success':
          // Only ever the second half of a decision on money for a closed payment.
          return platformResult(d, { status: 'SUCCESS', amount: d.amount });
        case 'review':
          return { type: 'ReviewPayment', paymentId: d.paymentId, decision: 'refund', reason: '', by: { role: '', client: '' }, now: at(d.at) };
        default:
          return assertNever(d.reason);
      }
    },
    guard: (d, ctx) => refundGuard(d.amount, ctx),
  },
  PaymentReviewed: {
    command: (d) => ({ type: 'ReviewPayment', paymentId: d.paymentId, decision: d.decision, reason: d.reason, by: d.by, now: at(d.at) }),
  },
  PaymentRefunded: {
    command: (d) => ({ type: 'RecordRefund', paymentId: d.paymentId, refundNo: d.refundNo, amount: d.amount, now: at(d.at) }),
    guard: (d, ctx) => {
      const p = ctx.payment;
      if (p.status === 'refunding' && (p.refund.value !== d.amount.value || p.refundNo !== d.refundNo)) {
        return { rule: 'refund-differs', message: `refunds ${fen(d.amount)} as ${d.refundNo}; ${fen(p.refund)} was requested as ${p.refundNo}` };
      }
      // Refunds recorded before refunds were requested first: the same rules apply here.
      return p.status === 'refunding' ? undefined : refundGuard(d.amount, ctx);
    },
  },
};

/** The confirmation attempt an event records, with the code right or wrong. */
const confirmWith = (d: { paymentId: string; attemptId?: string; at: string }, matches: boolean): PaymentCommand => ({
  type: 'ConfirmPayment',
  paymentId: d.paymentId,
  code: { matches: () => matches },
  attemptId: d.attemptId ?? '',
  now: at(d.at),
});

/**
 * Money goes back only when the goods cannot be had: never above what was taken, and never while
 * the order is paid or provisioned (the subscriber would keep both the channels and the money).
 */
const refundGuard = (amount: Money, ctx: Ctx): Problem | undefined => {
  const p = ctx.payment;
  const taken = p.status === 'flagged' ? p.reported : p.status === 'succeeded' ? p.charged : p.status === 'refunding' ? p.refund : moneyOf(p);
  if (amount.value > taken.value) return { rule: 'refund-above-charge', message: `refunds ${fen(amount)} of ${fen(taken)} taken` };
  if (p.status !== 'flagged' && (ctx.order.status === 'paid' || ctx.order.status === 'provisioned')) {
    return { rule: 'refund-with-goods', message: `refunded while its order is ${ctx.order.status}: the subscriber would keep both the channels and the money` };
  }
  return undefined;
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

/** Each candidate command's decision (a problem when there is no candidate). */
type Redecided = { guard?: Problem; decided: readonly Decided[] };

const isList = <T>(x: T | readonly T[]): x is readonly T[] => Array.isArray(x);
const candidates = <C extends { type: string }>(cmd: C | readonly C[] | Problem): readonly C[] | Problem => {
  if (isList(cmd)) return cmd;
  return isProblem(cmd) ? cmd : [cmd];
};

const redecideOrder = <K extends keyof OrderData>(type: K, data: OrderData[K], ctx: Ctx): Redecided => {
  const rule: Entry<OrderData[K], OrderCommand> = ORDER_RULES[type];
  const cmds = candidates(rule.command(data, ctx));
  const guard = rule.guard?.(data, ctx);
  return { ...(guard && { guard }), decided: isProblem(cmds) ? [cmds] : cmds.map((cmd) => run(() => decideOrder(cmd, ctx.order))) };
};

const redecidePayment = <K extends keyof PaymentData>(type: K, data: PaymentData[K], ctx: Ctx): Redecided => {
  const rule: Entry<PaymentData[K], PaymentCommand> = PAYMENT_RULES[type];
  const cmds = candidates(rule.command(data, ctx));
  const guard = rule.guard?.(data, ctx);
  return { ...(guard && { guard }), decided: isProblem(cmds) ? [cmds] : cmds.map((cmd) => run(() => decidePayment(cmd, ctx.payment))) };
};

/** Events recorded before confirmation attempts had ids lack `attemptId`: the decided event is compared without it. */
const asRecorded = (decided: DomainEvent, recorded: DomainEvent): DomainEvent => {
  if (!('attemptId' in decided.data) || 'attemptId' in recorded.data) return decided;
  const { attemptId: _a, ...data } = decided.data;
  return { ...decided, data } as DomainEvent;
};
const same = (decided: DomainEvent, recorded: DomainEvent): boolean =>
  canonicalJson(asRecorded(decided, recorded)) === canonicalJson({ type: recorded.type, data: recorded.data });

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
      if (!same(queued, e)) {
        problems.push({ rule: 'decision-incomplete', message: `the decision before it goes on with ${queued.type}: ${differences(queued, e)}` });
      }
    } else {
      const ctx: Ctx = { streamId, order, payment, cause };
      let result: Redecided;
      try {
        result =
          replayed.aggregate === 'order'
            ? redecideOrder(replayed.event.type, replayed.event.data, ctx)
            : redecidePayment(replayed.event.type, replayed.event.data, ctx);
      } catch (err) {
        // The event's data is not the shape its type has: a command cannot even be built from it.
        result = { decided: [{ rule: 'malformed', message: `its data is not a ${e.type}: ${err instanceof Error ? err.message : String(err)}` }] };
      }
      if (result.guard) problems.push(result.guard);
      const match = result.decided.find((d): d is { events: readonly DomainEvent[] } => !isProblem(d) && d.events[0] !== undefined && same(d.events[0], e));
      if (match) replay.queue.push(...match.events.slice(1));
      else {
        // None of the commands that could have produced it does: say why, for the first of them.
        const decided = result.decided[0] ?? { rule: 'missing-cause', message: 'no command produces it' };
        if (isProblem(decided)) problems.push(decided);
        else {
          const [first] = decided.events;
          if (!first)
            problems.push({
              rule: 'decider-no-op',
              message: `the deciders would record nothing here: the ${isOrder ? 'order' : 'payment'} was already ${isOrder ? order.status : payment.status}`,
            });
          else problems.push({ rule: 'not-decided', message: differences(asRecorded(first, e), e) });
        }
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
