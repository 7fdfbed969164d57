// Plain words for what the API returns: events, who did them, statuses, outbound work, refusals.
import { NETWORK } from './api.js';
import { day, money, time } from './dom.js';
import { has, t } from './i18n.js';

const PROBLEM = 'urn:tvpay-ledger:problem:';

/** A reason code in words, or the code itself when there are none for it. */
const reason = (code) => (code && has(`reason.${code}`) ? t(`reason.${code}`) : (code ?? ''));

/** Each event type's placeholders, from its data. Types without an entry are told as "event X". */
const EVENT_PARAMS = {
  OrderPlaced: (d) => ({ product: d.product?.name, amount: money(d.amount), msisdn: phoneWords(d.msisdn), card: d.smartcardId }),
  PaymentRequested: (d) => ({ seq: d.codeSeq, expires: time(d.codeExpiresAt) }),
  PaymentCodeRejected: (d) => ({ left: d.attemptsLeft }),
  PaymentCodeResent: (d) => ({ seq: d.codeSeq, expires: time(d.codeExpiresAt) }),
  PaymentConfirmed: () => ({}),
  PaymentDeclined: () => ({}),
  OrderPaymentPending: () => ({}),
  PaymentSubmitted: (d) => ({ tradeNo: d.tradeNo }),
  PaymentSucceeded: (d) => ({ amount: money(d.amount), tradeNo: d.tradeNo, source: has(`source.${d.source}`) ? t(`source.${d.source}`) : d.source }),
  OrderPaid: () => ({}),
  PaymentFailed: (d) => ({ reason: reason(d.reason) }),
  OrderPaymentFailed: (d) => ({ reason: reason(d.reason) }),
  PaymentFlagged: (d) => ({ reason: reason(d.reason), expected: money(d.expected), reported: money(d.reported) }),
  PaymentVoided: (d) => ({ reason: reason(d.reason) }),
  OrderCancelled: (d) => ({ reason: reason(d.reason) }),
  OrderExpired: () => ({}),
  OrderProvisioned: (d) => ({ from: day(d.validFrom), until: day(d.validUntil), requestNo: d.requestNo }),
  OrderProvisioningFailed: (d) => ({ reason: reason(d.reason), requestNo: d.requestNo }),
  OrderReprovisionRequested: (d) => ({ requestNo: d.requestNo }),
  OrderRefunded: (d) => ({ amount: money(d.amount) }),
  PaymentRefunded: (d) => ({ amount: money(d.amount), refundNo: d.refundNo }),
  PaymentRefundRequested: (d) => ({ amount: money(d.amount), reason: reason(d.reason) }),
  PaymentReviewed: (d) => ({ decision: has(`decision.${d.decision}`) ? t(`decision.${d.decision}`) : d.decision, reason: d.reason }),
};

export const EVENT_TYPES = Object.keys(EVENT_PARAMS);

/** "验证码错误 (还剩 4 次)" for a PaymentCodeRejected with 4 attempts left. */
export const eventWords = (e) => {
  const params = EVENT_PARAMS[e.type];
  return params ? t(`ev.${e.type}`, params(e.data ?? {})) : t('ev.unknown', { type: e.type });
};

/** Who did it: "客服 张伟", "支付平台", "系统（外部任务）". */
export const actorWords = (actor) => {
  if (!actor) return '';
  if (actor.role === 'system' && has(`actor.${actor.client}`)) return t(`actor.${actor.client}`);
  const role = has(`role.${actor.role}`) ? t(`role.${actor.role}`) : actor.role;
  if (actor.name) return t('actor.named', { role, name: actor.name });
  if (actor.role === 'customer-service' || actor.role === 'admin') return t('actor.unnamed', { role, client: actor.client });
  return role;
};

/** A phone number as the API gives it (whole, masked, or "erased" once the subscriber was erased). */
export const phoneWords = (msisdn) => (msisdn === 'erased' ? t('phone.erased') : (msisdn ?? ''));
export const orderStatus = (s) => (has(`status.${s}`) ? t(`status.${s}`) : s);
export const paymentStatus = (s) => (has(`pstatus.${s}`) ? t(`pstatus.${s}`) : s);

export const taskStatus = (task) =>
  task.status === 'pending' && task.attempts > 0
    ? t('task.retrying', { n: task.attempts })
    : has(`task.${task.status}`)
      ? t(`task.${task.status}`)
      : task.status;

export const kindWords = (kind) => (has(`kind.${kind}`) ? t(`kind.${kind}`) : kind);

/** Which message an SMS task sent, and to whom; never its text (a code SMS carries the code). */
export const messageWords = (task) => ({
  what: has(`sms.${task.template}`) ? t(`sms.${task.template}`, { n: task.requestNo }) : (task.template ?? ''),
  to: t(/-tv$/.test(task.template ?? '') ? 'to.tv' : 'to.phone'),
});

/** A refusal in plain words, from the service's problem+json. */
export const problemWords = (problem) => {
  const p = problem ?? {};
  if (p.type === NETWORK) return t('problem.network');
  const code = typeof p.type === 'string' && p.type.startsWith(PROBLEM) ? p.type.slice(PROBLEM.length) : '';
  const state = p.state ? orderOrPaymentStatus(p.state) : '';
  switch (code) {
    case 'wrong-code':
      return t('problem.wrong-code', { n: p.attemptsLeft });
    case 'resend-limit-reached':
      return typeof p.retryAfterSeconds === 'number' ? t('problem.resend-too-soon', { n: p.retryAfterSeconds }) : t('problem.resend-limit-reached');
    case 'validation':
      return t('problem.validation', { fields: (p.errors ?? []).map((e) => `${e.path.split('.').at(-1)}（${e.message}）`).join('；') });
    default:
      if (code && has(`problem.${code}`)) return t(`problem.${code}`, { state });
      if ((p.status ?? 0) >= 500) return t('problem.internal');
      return t('problem.other', { title: p.title ?? '', detail: p.detail ?? '' });
  }
};

const orderOrPaymentStatus = (s) => (has(`status.${s}`) ? t(`status.${s}`) : paymentStatus(s));
