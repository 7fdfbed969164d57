// The subscriber's phone (patent claims 1–3, the phone's side): the SMS inbox, the payment's
// details, the one-time code, confirm or decline.
import { call, every, h, money, refusal, time } from './demo.js';

const REFRESH_MS = 600;
const payment = document.getElementById('payment');
const result = document.getElementById('phone-result');
let shownPayment = null;
let shownInbox = null;

const say = (text, kind = 'info') => {
  result.replaceChildren(h('p', { class: `result ${kind}` }, text));
};

const act = async (path, body) => {
  const r = await call('POST', path, body);
  if (!r.ok) say(refusal(r), 'error');
  return r;
};

/** What the phone says about a payment that is no longer waiting for the code. */
const outcome = (p) => {
  if (p.orderStatus === 'provisioned') return `支付成功 ${money(p.amount)}，频道已开通。`;
  switch (p.status) {
    case 'confirmed':
    case 'submitted':
      return '已确认，正在支付…';
    case 'succeeded':
      return `支付成功 ${money(p.amount)}，正在开通频道…`;
    case 'declined':
      return '您已拒绝支付，订单已取消。';
    case 'failed':
      return '支付未成功，订单已关闭。';
    case 'voided':
      return '订单已关闭，无需支付。';
    case 'refunded':
      return `已退款 ${money(p.amount)}。`;
    default:
      return p.status;
  }
};

const codeForm = (p) => {
  const code = h('input', {
    id: 'code',
    name: 'code',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    maxlength: '6',
    pattern: '\\d{6}',
    required: true,
    'aria-describedby': 'code-hint',
  });
  const declineBox = h('div', { id: 'decline-box' });
  const askDecline = () =>
    declineBox.replaceChildren(
      h('p', {}, '确定拒绝这笔支付吗？订单将被取消。'),
      h(
        'button',
        {
          type: 'button',
          id: 'decline-yes',
          class: 'danger',
          onclick: async () => {
            const r = await act(`/demo/api/phone/payments/${p.paymentId}/decline`);
            if (r.ok) say('您已拒绝支付，订单已取消。');
          },
        },
        '确定拒绝',
      ),
      h('button', { type: 'button', id: 'decline-no', onclick: () => declineBox.replaceChildren() }, '返回'),
    );
  return h(
    'form',
    {
      id: 'confirm-form',
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        if (!/^\d{6}$/.test(code.value.trim())) {
          say('请输入 6 位数字验证码。', 'error');
          code.focus();
          return;
        }
        const r = await act(`/demo/api/phone/payments/${p.paymentId}/confirm`, { code: code.value.trim() });
        if (r.ok) say('已确认，正在支付…');
        else code.select();
      },
    },
    h('label', { for: 'code' }, '短信验证码'),
    code,
    h('p', { id: 'code-hint', class: 'hint' }, `验证码 ${time(p.codeExpiresAt).slice(11, 16)} 前有效，还可输错 ${p.attemptsLeft} 次`),
    h('button', { type: 'submit', id: 'confirm', class: 'primary' }, '确认支付'),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', id: 'decline', onclick: askDecline }, '拒绝'),
      h(
        'button',
        {
          type: 'button',
          id: 'resend',
          onclick: async () => {
            const r = await act(`/demo/api/phone/payments/${p.paymentId}/resend-code`);
            if (r.ok) say(`新的验证码已发送，还可获取 ${r.body.resendsLeft} 次。`);
          },
        },
        '重新获取验证码',
      ),
    ),
    declineBox,
  );
};

const renderPayment = (p) => {
  const key = JSON.stringify(p);
  if (key === shownPayment) return;
  // While the subscriber is typing the code, only a change of status redraws the form.
  const typing = document.activeElement?.id === 'code';
  const before = shownPayment && JSON.parse(shownPayment);
  shownPayment = key;
  if (typing && before && before.paymentId === p?.paymentId && before.status === p?.status) {
    document.getElementById('code-hint').textContent = `验证码 ${time(p.codeExpiresAt).slice(11, 16)} 前有效，还可输错 ${p.attemptsLeft} 次`;
    return;
  }
  if (!p) {
    payment.replaceChildren(h('p', { class: 'hint' }, '没有待支付的订单。在电视上选择套餐并选择“手机支付订购”。'));
    return;
  }
  payment.replaceChildren(
    h(
      'dl',
      { class: 'details' },
      h('dt', {}, '商品'),
      h('dd', { id: 'pay-subject' }, p.subject),
      h('dt', {}, '金额'),
      h('dd', { id: 'pay-amount', class: 'amount' }, money(p.amount)),
      h('dt', {}, '支付截止'),
      h('dd', {}, time(p.payBy)),
    ),
    p.status === 'awaiting_confirmation' && p.orderStatus === 'awaiting_confirmation'
      ? codeForm(p)
      : h('p', { id: 'pay-outcome', class: 'outcome', 'data-status': p.orderStatus ?? p.status }, outcome(p)),
  );
  // Past the code, the outcome says it all; a note about an earlier step would only confuse.
  if (!document.getElementById('confirm-form')) result.replaceChildren();
};

const renderInbox = (inbox) => {
  const key = JSON.stringify(inbox);
  if (key === shownInbox) return;
  shownInbox = key;
  document
    .getElementById('inbox')
    .replaceChildren(
      ...(inbox.length
        ? inbox.map((m) =>
            h('li', {}, h('span', { class: 'from' }, '有线电视'), h('time', { datetime: m.receivedAt }, time(m.receivedAt).slice(5, 16)), h('p', {}, m.text)),
          )
        : [h('li', { class: 'none' }, '没有短信')]),
    );
};

every(REFRESH_MS, async () => {
  const r = await call('GET', '/demo/api/phone');
  if (!r.ok) return;
  document.getElementById('number').textContent = r.body.msisdn;
  renderPayment(r.body.payment);
  renderInbox(r.body.inbox);
});
