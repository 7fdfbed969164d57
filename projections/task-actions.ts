/**
 * What each kind of task does. Every action first reads the current state from the
 * event store and does nothing if the work is moot (already done, order closed),
 * then makes one outbound call keyed by the task id, then records the outcome with
 * a command. Run twice, an action never charges, refunds, provisions or texts twice:
 * the external systems dedupe by key and the deciders answer [] for what is already so.
 */
import { orderAggregate, paymentAggregate, readOrderEvent } from '../commands/aggregates.ts';
import type { LedgerDeps } from '../commands/deps.ts';
import { execute, load, type CommandContext } from '../commands/execute.ts';
import { followUpAll } from '../commands/follow-up.ts';
import { e164 } from '../commands/msisdn.ts';
import { deriveCode } from '../commands/one-time-code.ts';
import { recordPlatformResult } from '../commands/record-platform-result.ts';
import { assertNever } from '../domain/never.ts';
import { foldOrder, orderStream, type Order, type OrderEvent } from '../domain/order/order.ts';
import { paymentStream, type Payment } from '../domain/payment/payment.ts';
import type { Boss, OpenPlatform, OrderCallback, PaymentPlatform, SmsGateway, SmsMessage } from '../integrations/ports.ts';
import type { ReadStore } from '../stores/read-store.ts';
import { optStr } from './doc.ts';
import { ENTITLEMENTS, entitlementId } from './entitlements.ts';
import type { RunningProjection } from './runner.ts';
import { smsTexts } from './sms-texts.ts';
import { callbackFor, type Task } from './tasks.ts';

export type ActionDeps = {
  ledger: LedgerDeps;
  reads: ReadStore;
  entitlements: RunningProjection;
  platform: PaymentPlatform;
  boss: Boss;
  sms: SmsGateway;
  /** The open platform's callback; undefined when OPEN_PLATFORM_CALLBACK_URL is unset. */
  openPlatform?: OpenPlatform;
  notifyUrl: string;
};

/**
 * done: finished (a word for the history); later: nothing wrong, look again later (a trade
 * still processing); failed: the attempt threw (an OutboundError says whether to retry),
 * with what it sent so a retry sends the same.
 */
export type ActionResult =
  | { kind: 'done'; outcome: string }
  | { kind: 'later'; reason: string }
  | { kind: 'failed'; error: unknown; sent?: Record<string, string> };

const done = (outcome: string): ActionResult => ({ kind: 'done', outcome });

export const TASK_ACTOR = { role: 'system', client: 'task-worker' };

export const contextFor = (task: Task, step: string): CommandContext => ({
  correlationId: task.correlationId,
  causationId: task.causationId,
  actor: TASK_ACTOR,
  commandKey: `${step}:${task.id}`,
});

const loadOrder = (deps: ActionDeps, orderId: string): Promise<Order> => load(deps.ledger.store, orderAggregate, orderStream(orderId));
const loadPayment = (deps: ActionDeps, paymentId: string): Promise<Payment> => load(deps.ledger.store, paymentAggregate, paymentStream(paymentId));

const addDays = (iso: string, days: number): string => new Date(Date.parse(iso) + days * 86_400_000).toISOString();

export const perform = async (deps: ActionDeps, task: Task): Promise<ActionResult> => {
  try {
    return await act(deps, task);
  } catch (error) {
    return { kind: 'failed', error };
  }
};

const act = async (deps: ActionDeps, task: Task): Promise<ActionResult> => {
  switch (task.kind) {
    case 'expire':
      return expire(deps, task);
    case 'trade':
      return createTrade(deps, task);
    case 'query':
      return queryTrade(deps, task);
    case 'boss':
      return provision(deps, task);
    case 'refund':
      return refund(deps, task);
    case 'sms':
      return sendSms(deps, task);
    case 'callback':
      return sendCallback(deps, task);
    default:
      return assertNever(task.kind);
  }
};

const expire = async (deps: ActionDeps, task: Task): Promise<ActionResult> => {
  const r = await execute(deps.ledger, orderAggregate, { type: 'ExpireOrder', orderId: task.orderId, now: deps.ledger.now() }, contextFor(task, 'expire'));
  await followUpAll(deps.ledger, r.appended);
  return done(r.events.length > 0 ? 'expired' : `order ${r.state.status}`);
};

const createTrade = async (deps: ActionDeps, task: Task): Promise<ActionResult> => {
  const p = await loadPayment(deps, task.paymentId);
  if (p.status !== 'confirmed') return done(`payment ${p.status}`);
  const trade = await deps.platform.createTrade({
    outTradeNo: p.paymentId,
    amount: p.amount,
    msisdn: e164(p.msisdn),
    subject: p.subject,
    notifyUrl: deps.notifyUrl,
    expiresAt: p.payBy,
  });
  await execute(
    deps.ledger,
    paymentAggregate,
    { type: 'RecordTradeCreated', paymentId: p.paymentId, tradeNo: trade.tradeNo, now: deps.ledger.now() },
    contextFor(task, 'trade'),
  );
  return done(`trade ${trade.tradeNo}`);
};

/** Trade creation failed for good: the payment cannot go ahead. */
export const tradeRefused = async (deps: ActionDeps, task: Task, reason: string): Promise<void> => {
  const p = await loadPayment(deps, task.paymentId);
  if (p.status !== 'confirmed') return;
  await recordPlatformResult(
    deps.ledger,
    { paymentId: p.paymentId, source: 'query', notificationId: `trade-refused:${task.id}`, tradeNo: '', status: 'CLOSED', amount: p.amount, failureReason: reason },
    contextFor(task, 'trade-refused'),
  );
};

const queryTrade = async (deps: ActionDeps, task: Task): Promise<ActionResult> => {
  const p = await loadPayment(deps, task.paymentId);
  if (p.status !== 'confirmed' && p.status !== 'submitted') return done(`payment ${p.status}`);
  const trade = await deps.platform.queryTrade(p.paymentId);
  if (!trade || trade.status === 'PROCESSING') return { kind: 'later', reason: trade ? 'trade still processing' : 'trade not found yet' };
  await recordPlatformResult(
    deps.ledger,
    {
      paymentId: p.paymentId,
      source: 'query',
      notificationId: `query:${trade.tradeNo}:${trade.status}`,
      tradeNo: trade.tradeNo,
      status: trade.status,
      amount: trade.amount,
      ...(trade.paidAt !== undefined && { paidAt: new Date(trade.paidAt).toISOString() }),
    },
    contextFor(task, 'query'),
  );
  return done(`platform says ${trade.status}`);
};

/**
 * Opens the channels at BOSS. A renewal of a package still active on the card starts
 * where the current one ends. The dates chosen on the first attempt are sent again on
 * every retry (BOSS keeps the first request for a requestId).
 */
const provision = async (deps: ActionDeps, task: Task): Promise<ActionResult> => {
  const o = await loadOrder(deps, task.orderId);
  if (o.status !== 'paid' && o.status !== 'provisioned') return done(`order ${o.status}`);
  if (o.status === 'provisioned' && o.provisionedRequestNo >= task.seq) return done('already provisioned');
  let validFrom = task.sent?.validFrom;
  let validUntil = task.sent?.validUntil;
  if (!validFrom || !validUntil) {
    if (o.status === 'provisioned') {
      // A reprovision re-sends what the card already has.
      validFrom = o.validFrom;
      validUntil = o.validUntil;
    } else {
      // Everything recorded so far, including the previous request of this entitlement.
      await deps.entitlements.waitFor(await deps.ledger.store.headPosition());
      const current = await deps.reads.get(ENTITLEMENTS, entitlementId(o.smartcardId, o.product.productId));
      const currentEnd = current ? optStr(current, 'validUntil') : undefined;
      validFrom = currentEnd && currentEnd > o.paidAt ? currentEnd : o.paidAt;
      validUntil = addDays(validFrom, o.product.periodDays);
    }
  }
  const sent = { validFrom, validUntil };
  try {
    const opened = await deps.boss.openEntitlement({
      requestId: task.id,
      subscriberId: o.subscriberId,
      smartcardId: o.smartcardId,
      productId: o.product.productId,
      channels: [...o.product.channels],
      validFrom,
      validUntil,
    });
    await execute(
      deps.ledger,
      orderAggregate,
      { type: 'MarkProvisioned', orderId: o.orderId, requestNo: task.seq, bossRef: opened.bossRef, validFrom, validUntil, now: deps.ledger.now() },
      contextFor(task, 'provisioned'),
    );
    return done(`bossRef ${opened.bossRef}`);
  } catch (error) {
    return { kind: 'failed', error, sent };
  }
};

/** BOSS refused for good: the order's provisioning failed, which leads to a refund. */
export const provisioningRefused = async (deps: ActionDeps, task: Task, reason: string): Promise<void> => {
  await execute(
    deps.ledger,
    orderAggregate,
    { type: 'MarkProvisioningFailed', orderId: task.orderId, requestNo: task.seq, reason, now: deps.ledger.now() },
    contextFor(task, 'provisioning-failed'),
  );
};

const refund = async (deps: ActionDeps, task: Task): Promise<ActionResult> => {
  const o = await loadOrder(deps, task.orderId);
  if (o.status === 'none') return done('no such order');
  const p = await loadPayment(deps, o.paymentId);
  if (p.status === 'refunded') return done('already refunded');
  if (p.status !== 'succeeded' && p.status !== 'flagged') return done(`payment ${p.status}`);
  const refundNo = `refund-${o.orderId}`;
  const r = await deps.platform.refund({ outTradeNo: p.paymentId, refundNo, amount: p.amount });
  const recorded = await execute(
    deps.ledger,
    paymentAggregate,
    { type: 'RecordRefund', paymentId: p.paymentId, refundNo: r.refundNo, amount: p.amount, now: deps.ledger.now() },
    contextFor(task, 'refund'),
  );
  await followUpAll(deps.ledger, recorded.appended);
  return done(`refund ${r.refundNo} ${r.status}`);
};

const sendSms = async (deps: ActionDeps, task: Task): Promise<ActionResult> => {
  const message = await smsFor(deps, task);
  if (typeof message === 'string') return done(message);
  await deps.sms.send(message);
  return done('sent');
};

/** The message for the task, or why none is sent. Never logged: it may hold a code. */
const smsFor = async (deps: ActionDeps, task: Task): Promise<SmsMessage | string> => {
  const messageId = task.id;
  if (task.template === 'code') {
    const p = await loadPayment(deps, task.paymentId);
    if (p.status !== 'awaiting_confirmation') return `payment ${p.status}`;
    if (p.code.seq !== task.seq) return 'a newer code was sent';
    const ttlMinutes = Math.max(1, Math.round((Date.parse(p.code.expiresAt) - Date.parse(p.code.sentAt)) / 60_000));
    const code = deriveCode(deps.ledger.codeSecret, p.paymentId, p.code.seq);
    return { messageId, to: { msisdn: e164(p.msisdn) }, text: smsTexts.code({ subject: p.subject, amount: p.amount, code, ttlMinutes }) };
  }
  const o = await loadOrder(deps, task.orderId);
  if (o.status === 'none') return 'no such order';
  const name = o.product.name;
  switch (task.template) {
    case 'order-tv':
      return { messageId, to: { smartcardId: o.smartcardId }, text: smsTexts.orderTv({ name, amount: o.amount }) };
    case 'paid-phone':
      return { messageId, to: { msisdn: e164(o.msisdn) }, text: smsTexts.paid({ name, amount: o.amount }) };
    case 'paid-tv':
      return { messageId, to: { smartcardId: o.smartcardId }, text: smsTexts.paid({ name, amount: o.amount }) };
    case 'provisioned-tv':
      return o.status === 'provisioned'
        ? { messageId, to: { smartcardId: o.smartcardId }, text: smsTexts.provisioned({ name, validUntil: o.validUntil }) }
        : `order ${o.status}`;
    case 'refunded-phone':
      return { messageId, to: { msisdn: e164(o.msisdn) }, text: smsTexts.refunded({ name, amount: o.amount }) };
    case 'failed-phone':
      return { messageId, to: { msisdn: e164(o.msisdn) }, text: smsTexts.paymentFailed({ name }) };
    case undefined:
      return 'no template';
    default:
      return assertNever(task.template);
  }
};

/**
 * Tells the open platform one order outcome. The facts of the order come from its stream as it is
 * now; the status, time and details come from the event that created the task (its causationId),
 * so a callback sent late still describes its own step. Never carries the phone number.
 */
const sendCallback = async (deps: ActionDeps, task: Task): Promise<ActionResult> => {
  if (!deps.openPlatform) return done('callbacks are off');
  const recorded = await deps.ledger.store.readStream(orderStream(task.orderId));
  const events: OrderEvent[] = [];
  let cause: OrderEvent | undefined;
  for (const r of recorded) {
    const e = readOrderEvent(r);
    if (!e) continue;
    events.push(e);
    if (r.id === task.causationId) cause = e;
  }
  const o = foldOrder(events);
  if (o.status === 'none') return done('no such order');
  const facts = cause && callbackFor(cause);
  // The task was made from this event: anything else is a bug, retried and then left failed.
  if (!facts || facts.id !== task.id) throw new Error(`callback ${task.id}: its event ${task.causationId} is not in the order's stream`);
  const callback: OrderCallback = {
    callbackId: task.id,
    orderId: o.orderId,
    paymentId: o.paymentId,
    subscriberId: o.subscriberId,
    smartcardId: o.smartcardId,
    productId: o.product.productId,
    status: facts.status,
    at: facts.at,
    ...(facts.reason !== undefined && { reason: facts.reason }),
    ...(facts.validFrom !== undefined && { validFrom: facts.validFrom }),
    ...(facts.validUntil !== undefined && { validUntil: facts.validUntil }),
    amount: { value: o.amount.value, currency: o.amount.currency },
  };
  await deps.openPlatform.deliver(callback);
  return done(`delivered ${facts.status}`);
};
