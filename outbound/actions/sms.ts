/** Messages to the phone and to the TV (patent claim 3), through the SMS gateway; the task id is the messageId. */
import type { LedgerDeps } from '../../commands/deps.ts';
import { accountingDay } from '../../domain/accounts.ts';
import { formatMoney } from '../../domain/money.ts';
import { assertNever } from '../../domain/never.ts';
import type { SmsGateway, SmsMessage, SmsRecipient } from '../../integrations/ports.ts';
import { amountOfStep, done, loadOrder, loadPayment, orderStory, phoneOf, type Action } from '../action.ts';
import type { RenderedSms, SmsTemplates } from '../sms-templates.ts';
import type { TaskSpec } from '../task.ts';

export const smsAction =
  (deps: { ledger: LedgerDeps; sms: SmsGateway; templates: SmsTemplates }): Action =>
  async (attempt) => {
    const message = await messageFor(deps.ledger, deps.templates, attempt.spec, attempt.now());
    if (typeof message === 'string') return done(message);
    await attempt.claim();
    await deps.sms.send(message);
    return done('sent');
  };

const ERASED_PHONE = 'the phone number was erased';

/** The message for the task, or why none is sent. Never logged: it may hold a code. */
const messageFor = async (ledger: LedgerDeps, templates: SmsTemplates, task: TaskSpec, now: Date): Promise<SmsMessage | string> => {
  const messageId = task.id;
  const message = (to: SmsRecipient, rendered: RenderedSms): SmsMessage => ({ messageId, to, ...rendered });
  if (task.template === 'code') {
    const p = await loadPayment(ledger.store, task.paymentId);
    if (p.status !== 'awaiting_confirmation') return `payment ${p.status}`;
    if (p.code.seq !== task.seq) return 'a newer code was sent';
    // An expired code is of no use; the subscriber may ask for a new one at once (it was never delivered).
    if (now.getTime() >= Date.parse(p.code.expiresAt)) return 'the code expired before it could be sent';
    const ttlMinutes = Math.max(1, Math.round((Date.parse(p.code.expiresAt) - Date.parse(p.code.sentAt)) / 60_000));
    const to = await phoneOf(ledger, p.msisdn, p.orderId);
    if (to === undefined) return ERASED_PHONE;
    const code = ledger.codes.code(p.paymentId, p.code.seq);
    const params = { subject: p.subject, amount: formatMoney(p.amount), code, ttlMinutes: String(ttlMinutes) };
    return message({ msisdn: to }, templates.render('code', params));
  }
  const o = await loadOrder(ledger.store, task.orderId);
  if (o.status === 'none') return 'no such order';
  const name = o.product.name;
  const price = formatMoney(o.amount);
  /** What moved at the step that created the task (a refund, a payment), read from its event. */
  const moved = async (): Promise<string> => {
    const { events, cause } = await orderStory(ledger.store, task.orderId, task.causationId);
    return formatMoney(amountOfStep(events, cause, o.amount));
  };
  const tv = { smartcardId: o.smartcardId };
  const toPhone = async (rendered: RenderedSms): Promise<SmsMessage | string> => {
    const to = await phoneOf(ledger, o.msisdn, o.orderId);
    return to === undefined ? ERASED_PHONE : message({ msisdn: to }, rendered);
  };
  switch (task.template) {
    case 'order-tv':
      return message(tv, templates.render('order', { name, amount: price }));
    case 'paid-phone':
      return toPhone(templates.render('paid', { name, amount: await moved() }));
    case 'paid-tv':
      return message(tv, templates.render('paid', { name, amount: await moved() }));
    case 'provisioned-tv':
      // The day the entitlement ends, in China Standard Time (the subscriber's calendar).
      return o.status === 'provisioned' ? message(tv, templates.render('provisioned', { name, validUntil: accountingDay(o.validUntil) })) : `order ${o.status}`;
    case 'refunded-phone':
      return toPhone(templates.render('refunded', { name, amount: await moved() }));
    case 'failed-phone':
      return toPhone(templates.render('payment-failed', { name }));
    case undefined:
      return 'no template';
    default:
      return assertNever(task.template);
  }
};
