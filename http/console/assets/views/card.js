// A smartcard: the packages open on it now, and its orders with what was provisioned when.
import { get } from '../api.js';
import { day, h, money, table, time } from '../dom.js';
import { t } from '../i18n.js';
import { may } from '../session.js';
import { heading, link, refreshing, region } from '../ui.js';
import { orderStatus } from '../words.js';

const REFRESH_MS = 3000;

const shownIn = (part) => (err) => {
  if (err?.name !== 'AbortError') part.error(err);
  return null;
};

export const cardView = (smartcardId, { signal }) => {
  const now = region({ id: 'entitlements' }, (list) =>
    list.length
      ? table(
          t('card.now'),
          [t('col.product'), t('col.channels'), t('col.validFrom'), t('col.validUntil')],
          list.map((e) => [e.name, e.channels.join('、'), day(e.validFrom), day(e.validUntil)]),
          { class: 'entitlements' },
        )
      : h('p', {}, t('card.noneNow')),
  );
  const history = region({ id: 'card-history' }, (orders) =>
    orders.length
      ? table(
          t('card.history'),
          [t('col.placedAt'), t('col.product'), t('col.amount'), t('col.status'), t('order.validity'), t('col.order')],
          orders.map((o) => [
            time(o.placedAt),
            o.product?.name ?? '',
            money(o.amount),
            orderStatus(o.status),
            o.boss?.validUntil ? `${day(o.boss.validFrom)} – ${day(o.boss.validUntil)}` : '',
            link(`#/orders/${o.orderId}`, o.orderId.slice(0, 8), { 'aria-label': `${t('col.order')} ${o.orderId}` }),
          ]),
        )
      : h('p', {}, t('card.noneHistory')),
  );

  refreshing(signal, REFRESH_MS, async () => {
    const [ents, orders] = await Promise.all([
      may('GET', '/v1/smartcards/:smartcardId/entitlements')
        ? get(`/v1/smartcards/${encodeURIComponent(smartcardId)}/entitlements`, undefined, { signal }).catch(shownIn(now))
        : null,
      may('GET', '/v1/orders') ? get('/v1/orders', { smartcardId, limit: 100 }, { signal }).catch(shownIn(history)) : null,
    ]);
    if (ents?.entitlements) now.show(ents.entitlements);
    if (orders?.items) history.show(orders.items);
  });

  return h(
    'section',
    { 'aria-labelledby': 'page-title' },
    heading(t('card.title', { id: smartcardId })),
    h('section', { 'aria-labelledby': 'now-title' }, h('h2', { id: 'now-title' }, t('card.now')), now.el),
    h('section', { 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, t('card.history')), history.el),
  );
};
