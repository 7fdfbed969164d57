/** Messages to the phone and to the TV (patent claim 3), through the SMS gateway; the task id is the messageId. */
import type { LedgerDeps } from '../../commands/deps.ts';
import { deriveCode } from '../../commands/one-time-code.ts';
import { assertNever } from '../../domain/never.ts';
import type { SmsGateway, SmsMessage } from '../../integrations/ports.ts';
import { done, loadOrder, loadPayment, phoneOf, type Action } from '../action.ts';
import { smsTexts } from '../sms-texts.ts';
import type { TaskSpec } from '../task.ts';

export const smsAction =
  (deps: { ledger: LedgerDeps; sms: SmsGateway }): Action =>
  async (attempt) => {
    const message = await messageFor(deps.ledger, attempt.spec, attempt.now());
    if (typeof message === 'string') return done(message);
    await attempt.claim();
    await deps.sms.send(message);
    return done('sent');
  };

const ERASED_PHONE = 'the phone number was erased';

/** The message for the task, or why none is sent. Never logged: it may hold a code. */
const messageFor = async (ledger: LedgerDeps, task: TaskSpec, now: Date): Promise<SmsMessage | string> => {
  const messageId = task.id;
  if (task.template === 'code') {
    const p = await loadPayment(ledger.store, task.paymentId);
    if (p.status !== 'awaiting_confirmation') return `payment ${p.status}`;
    if (p.code.seq !== task.seq) return 'a newer code was sent';
    // An expired code is of no use; the subscriber may ask for a new one at once (it was never delivered).
    if (now.getTime() >= Date.parse(p.code.expiresAt)) return 'the code expired before it could be sent';
    const ttlMinutes = Math.max(1, Math.round((Date.parse(p.code.expiresAt) - Date.parse(p.code.sentAt)) / 60_000));
    const to = await phoneOf(ledger, p.msisdn, p.orderId);
    if (to === undefined) return ERASED_PHONE;
    const code = deriveCode(ledger.codeSecret, p.paymentId, p.code.seq);
    return { messageId, to: { msisdn: to }, text: smsTexts.code({ subject: p.subject, amount: p.amount, code, ttlMinutes }) };
  }
  const o = await loadOrder(ledger.store, task.orderId);
  if (o.status === 'none') return 'no such order';
  const name = o.product.name;
  const toPhone = async (text: string): Promise<SmsMessage | string> => {
    const to = await phoneOf(ledger, o.msisdn, o.orderId);
    return to === undefined ? ERASED_PHONE : { messageId, to: { msisdn: to }, text };
  };
  switch (task.template) {
    case 'order-tv':
      return { messageId, to: { smartcardId: o.smartcardId }, text: smsTexts.orderTv({ name, amount: o.amount }) };
    case 'paid-phone':
      return toPhone(smsTexts.paid({ name, amount: o.amount }));
    case 'paid-tv':
      return { messageId, to: { smartcardId: o.smartcardId }, text: smsTexts.paid({ name, amount: o.amount }) };
    case 'provisioned-tv':
      return o.status === 'provisioned'
        ? { messageId, to: { smartcardId: o.smartcardId }, text: smsTexts.provisioned({ name, validUntil: o.validUntil }) }
        : `order ${o.status}`;
    case 'refunded-phone':
      return toPhone(smsTexts.refunded({ name, amount: o.amount }));
    case 'failed-phone':
      return toPhone(smsTexts.paymentFailed({ name }));
    case undefined:
      return 'no template';
    default:
      return assertNever(task.template);
  }
};
