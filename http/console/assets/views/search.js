// Find orders by phone number, smartcard, subscriber or order id. The results refresh by
// themselves while they are shown, so an order placed a moment ago appears and moves on.
import { get } from '../api.js';
import { h, money, table, time } from '../dom.js';
import { t } from '../i18n.js';
import { may } from '../session.js';
import { errorMessage, heading, link, message, refreshing, region, updatedAt } from '../ui.js';
import { orderStatus, phoneWords } from '../words.js';

const FIELDS = ['msisdn', 'smartcardId', 'subscriberId', 'orderId'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REFRESH_MS = 3000;
const PAGE = 50;

export const searchView = (q, { signal }) => {
  const fields = FIELDS.filter((f) =>
    f === 'orderId' ? may('GET', '/v1/orders/:orderId') || may('GET', '/v1/orders/:orderId/history') : may('GET', '/v1/orders'),
  );
  const by = fields.includes(q.get('by')) ? q.get('by') : fields[0];
  const text = (q.get('q') ?? '').trim();

  const select = h(
    'select',
    { id: 'search-by', name: 'by' },
    fields.map((f) => h('option', { value: f, ...(f === by && { selected: true }) }, t(`search.by.${f}`))),
  );
  const input = h('input', { id: 'search-q', name: 'q', type: 'search', value: text, autocomplete: 'off', required: true, 'aria-describedby': 'search-hint' });
  const form = h(
    'form',
    {
      role: 'search',
      class: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        const value = input.value.trim();
        if (!value) return input.focus();
        if (select.value === 'orderId') {
          location.hash = `#/orders/${value.toLowerCase()}`;
          return;
        }
        location.hash = `#/search?${new URLSearchParams({ by: select.value, q: value })}`;
      },
    },
    h('label', { for: 'search-by' }, t('search.field')),
    select,
    h('label', { for: 'search-q' }, t('search.query')),
    input,
    h('button', { type: 'submit' }, t('search.submit')),
  );

  const results = region({ id: 'results', 'aria-busy': 'false' }, ({ items, nextCursor }) => [
    h('p', { role: 'status', id: 'result-count' }, items.length ? t('search.count', { n: items.length + (nextCursor ? '+' : '') }) : t('search.none')),
    items.length
      ? table(
          t('search.caption'),
          [t('col.order'), t('col.status'), t('col.product'), t('col.amount'), t('col.phone'), t('col.card'), t('col.subscriber'), t('col.placedAt')],
          items.map((o) => [
            link(`#/orders/${o.orderId}`, o.orderId.slice(0, 8), { 'aria-label': `${t('col.order')} ${o.orderId}` }),
            h('span', { class: `status s-${o.status}` }, orderStatus(o.status)),
            o.product?.name ?? '',
            money(o.amount),
            phoneWords(o.msisdn),
            link(`#/cards/${encodeURIComponent(o.smartcardId)}`, o.smartcardId),
            o.subscriberId,
            time(o.placedAt),
          ]),
          { class: 'results' },
        )
      : null,
    updatedAt(),
  ]);

  const view = h(
    'section',
    { 'aria-labelledby': 'page-title' },
    heading(t('search.title')),
    form,
    h('p', { id: 'search-hint', class: 'hint' }, t('search.hint')),
    results.el,
  );

  if (text && by === 'orderId') {
    if (UUID.test(text)) location.replace(`#/orders/${text.toLowerCase()}`);
    else results.el.replaceChildren(message('error', t('problem.validation', { fields: t('search.by.orderId') })));
  } else if (text) {
    refreshing(signal, REFRESH_MS, async () => {
      try {
        const page = await get('/v1/orders', { [by]: text, limit: PAGE }, { signal });
        results.show({ items: page.items, nextCursor: page.nextCursor });
      } catch (err) {
        if (err?.name !== 'AbortError') results.el.replaceChildren(errorMessage(err));
        throw err;
      }
    });
  }
  return view;
};
