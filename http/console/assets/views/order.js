// One order's whole story: summary, what the agent may do now, the payment and the platform
// trade, the BOSS requests and their attempts, the messages to the phone and the TV, and every
// event in plain words with who did it. Refreshes itself, so an action's outcome shows up here.
import { get, OUTBOUND, post } from '../api.js';
import { day, facts, h, money, table, time } from '../dom.js';
import { t } from '../i18n.js';
import { may } from '../session.js';
import { announce, confirmAction, errorMessage, heading, link, message, refreshing, region } from '../ui.js';
import { actorWords, eventWords, kindWords, messageWords, orderStatus, paymentStatus, phoneWords, problemWords, taskStatus } from '../words.js';

const REFRESH_MS = 2000;

/** What the agent may do to an order in this state, if their role allows the call. */
const ACTIONS = [
  {
    id: 'cancel',
    route: ['POST', '/v1/orders/:orderId/cancel'],
    when: (o) => o.status === 'awaiting_confirmation',
    ask: (o) => t('action.cancel.confirm', { id: o.orderId }),
    run: (o) => post(`/v1/orders/${o.orderId}/cancel`),
    done: () => t('action.cancel.done'),
  },
  {
    id: 'reprovision',
    route: ['POST', '/v1/orders/:orderId/reprovision'],
    when: (o) => o.status === 'paid' || o.status === 'provisioned',
    ask: (o) => t('action.reprovision.confirm', { id: o.orderId }),
    run: (o) => post(`/v1/orders/${o.orderId}/reprovision`),
    done: (r) => t('action.reprovision.done', { n: r.requestNo }),
  },
  {
    id: 'resend',
    route: ['POST', '/v1/payments/:paymentId/resend-code'],
    when: (o) => o.status === 'awaiting_confirmation' && o.payment?.status === 'awaiting_confirmation',
    ask: () => t('action.resend.confirm'),
    run: (o) => post(`/v1/payments/${o.paymentId}/resend-code`),
    done: (r) => t('action.resend.done', { n: r.resendsLeft }),
  },
];

export const orderView = (orderId, { signal }) => {
  let state = { order: null, history: null, payment: null, outbound: null };
  let lastStatus;
  const refreshNow = { run: () => undefined };

  const actionResult = h('div', { id: 'action-result' });
  const summary = region({ class: 'card', id: 'summary' }, (o) => summaryOf(o));
  const actions = region({ id: 'actions' }, ({ order }) => actionsOf(order));
  const payment = region({ id: 'payment' }, (d) => paymentOf(d));
  const boss = region({ id: 'boss' }, (items) => bossOf(items));
  const messages = region({ id: 'messages' }, (items) => messagesOf(items));
  const other = region({ id: 'other-work' }, (items) => otherOf(items));
  const timeline = region({ id: 'timeline' }, (events) => timelineOf(events));
  const failure = h('div', { id: 'order-error' });

  const actionsOf = (order) => {
    const allowed = order ? ACTIONS.filter((a) => may(...a.route) && a.when(order)) : [];
    if (!allowed.length) return h('p', { class: 'hint' }, t('order.noActions'));
    return h(
      'div',
      { class: 'buttons' },
      allowed.map((a) =>
        h(
          'button',
          {
            type: 'button',
            id: `action-${a.id}`,
            class: a.id === 'cancel' ? 'danger' : '',
            onclick: async (e) => {
              const button = e.currentTarget;
              if (!(await confirmAction(a.ask(order)))) return;
              button.disabled = true;
              try {
                const r = await a.run(order);
                actionResult.replaceChildren(message('ok', a.done(r)));
              } catch (err) {
                actionResult.replaceChildren(message('error', t('action.refused', { why: problemWords(err?.problem) })));
              } finally {
                button.disabled = false;
              }
              refreshNow.run();
            },
          },
          t(`action.${a.id}`),
        ),
      ),
    );
  };

  const show = () => {
    const order = state.order ?? orderFromHistory(state.history);
    if (order) {
      summary.show(order);
      actions.show({ order: state.order && { ...state.order, payment: state.payment ?? state.order.payment } });
      if (lastStatus && lastStatus !== order.status) announce(`${t('col.status')}: ${orderStatus(order.status)}`);
      lastStatus = order.status;
    }
    if (state.payment || state.order) payment.show({ payment: state.payment, order: state.order });
    if (state.outbound) {
      const sorted = [...state.outbound].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
      boss.show(sorted.filter((x) => x.kind === 'boss'));
      messages.show(sorted.filter((x) => x.kind === 'sms'));
      other.show(sorted.filter((x) => x.kind !== 'boss' && x.kind !== 'sms'));
    }
    if (state.history) timeline.show(state.history);
  };

  const load = async () => {
    try {
      const [order, history] = await Promise.all([
        may('GET', '/v1/orders/:orderId') ? get(`/v1/orders/${orderId}`, undefined, { signal }) : null,
        may('GET', '/v1/orders/:orderId/history') ? get(`/v1/orders/${orderId}/history`, undefined, { signal }).then((r) => r.events) : null,
      ]);
      const paymentId = order?.paymentId ?? orderFromHistory(history)?.paymentId;
      const [pay, outbound] = await Promise.all([
        paymentId && may('GET', '/v1/payments/:paymentId') ? get(`/v1/payments/${paymentId}`, undefined, { signal }).catch(() => null) : null,
        may('GET', OUTBOUND) ? get(OUTBOUND, { orderId, limit: 200 }, { signal }).then((r) => r.items) : null,
      ]);
      state = { order, history, payment: pay, outbound };
      failure.replaceChildren();
      show();
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      failure.replaceChildren(errorMessage(err));
      throw err;
    }
  };

  const section = (id, title, body) => h('section', { 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), body);

  const view = h(
    'article',
    { 'aria-labelledby': 'page-title', class: 'order' },
    heading(t('order.title', { id: orderId })),
    failure,
    section('summary', t('order.summary'), summary.el),
    section('actions', t('order.actions'), [actions.el, actionResult]),
    section('payment', t('order.payment'), payment.el),
    section('boss', t('order.boss'), boss.el),
    section('messages', t('order.messages'), messages.el),
    section('other-work', t('order.otherWork'), other.el),
    section('timeline', t('order.timeline'), [h('p', { class: 'hint' }, t('app.tz')), timeline.el]),
  );

  let timer = null;
  refreshNow.run = () => {
    clearTimeout(timer);
    timer = setTimeout(() => load().catch(() => undefined), 0);
  };
  refreshing(signal, REFRESH_MS, load);
  return view;
};

/** An order as far as its history tells it, for roles that may read the history but not the order view. */
const orderFromHistory = (events) => {
  const placed = events?.find((e) => e.type === 'OrderPlaced');
  if (!placed) return null;
  const d = placed.data;
  return {
    orderId: d.orderId,
    paymentId: d.paymentId,
    status: null,
    product: d.product,
    amount: d.amount,
    msisdn: d.msisdn,
    smartcardId: d.smartcardId,
    subscriberId: d.subscriberId,
    placedAt: d.placedAt,
    expiresAt: d.expiresAt,
  };
};

const summaryOf = (o) =>
  facts([
    [t('col.status'), o.status ? h('strong', { id: 'order-status', class: `status s-${o.status}` }, orderStatus(o.status)) : null],
    [t('col.product'), o.product ? `${o.product.name}（${(o.product.channels ?? []).join('、')}）` : ''],
    [t('col.amount'), money(o.amount)],
    [t('col.subscriber'), o.subscriberId],
    [
      t('col.card'),
      may('GET', '/v1/smartcards/:smartcardId/entitlements')
        ? link(`#/cards/${encodeURIComponent(o.smartcardId)}`, o.smartcardId, { 'aria-label': `${t('order.cardLink')} ${o.smartcardId}` })
        : o.smartcardId,
    ],
    [t('col.phone'), phoneWords(o.msisdn)],
    [t('col.placedAt'), time(o.placedAt)],
    [t('order.expiresAt'), o.status === 'awaiting_confirmation' ? time(o.expiresAt) : ''],
    [t('order.validity'), o.boss?.validUntil ? `${day(o.boss.validFrom)} – ${day(o.boss.validUntil)}` : ''],
  ]);

const paymentOf = ({ payment: p, order: o }) => {
  const status = p?.status ?? o?.payment?.status;
  return facts([
    [t('col.payment'), p?.paymentId ?? o?.paymentId],
    [t('order.paymentStatus'), status ? paymentStatus(status) : ''],
    [t('order.tradeNo'), p?.tradeNo ?? o?.payment?.tradeNo ?? ''],
    [t('col.amount'), money(p?.amount ?? o?.amount)],
    [t('order.attemptsLeft'), status === 'awaiting_confirmation' ? String(p?.attemptsLeft ?? '') : ''],
    [t('order.resendsLeft'), status === 'awaiting_confirmation' ? String(p?.resendsLeft ?? '') : ''],
    [t('order.codeExpiresAt'), status === 'awaiting_confirmation' ? time(p?.codeExpiresAt) : ''],
  ]);
};

/** A table of one row per item; with no items, a line saying there are none. */
const listOf = (items, caption, headers, row, props) =>
  items.length ? table(caption, headers, items.map(row), props) : h('p', { class: 'hint' }, t('order.none'));

const bossOf = (items) =>
  listOf(
    items,
    t('order.boss'),
    [t('col.request'), t('col.status'), t('col.attempts'), t('col.lastError'), t('col.nextAttempt'), t('col.finishedAt')],
    (x) => [`#${x.requestNo}`, taskStatus(x), String(x.attempts), x.lastError ?? '', time(x.nextAttemptAt), time(x.finishedAt)],
    { class: 'boss-requests' },
  );

const messagesOf = (items) =>
  listOf(
    items,
    t('order.messages'),
    [t('col.message'), t('col.to'), t('col.status'), t('col.attempts'), t('col.time')],
    (x) => {
      const m = messageWords(x);
      return [m.what, m.to, taskStatus(x), String(x.attempts), time(x.finishedAt ?? x.createdAt)];
    },
    { class: 'messages' },
  );

const otherOf = (items) =>
  listOf(items, t('order.otherWork'), [t('col.kind'), t('col.status'), t('col.attempts'), t('col.lastError'), t('col.time')], (x) => [
    kindWords(x.kind),
    taskStatus(x),
    String(x.attempts),
    x.lastError ?? '',
    time(x.finishedAt ?? x.nextAttemptAt ?? x.createdAt),
  ]);

/** When it happened by the ledger's clock (the time the event carries), else when it was recorded. */
const eventTime = (e) => {
  const d = e.data ?? {};
  return d.at ?? d.placedAt ?? d.requestedAt ?? d.paidAt ?? e.recordedAt;
};

const timelineOf = (events) =>
  table(
    t('order.timelineCaption'),
    [t('col.time'), t('col.who'), t('col.what')],
    events.map((e) => {
      const at = eventTime(e);
      return [h('time', { datetime: at }, time(at)), actorWords(e.metadata?.actor), eventWords(e)];
    }),
    { class: 'timeline' },
  );
