// Finance by accounting day (China Standard Time), for admins: charges, refunds, flagged money
// and the net, the entries behind a day, and both as CSV.
import { get } from '../api.js';
import { cstDay, csvLine, download, h, money, table, time, yuan } from '../dom.js';
import { t } from '../i18n.js';
import { errorMessage, heading, link } from '../ui.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_ENTRY_PAGES = 50;

const tally = (x) => `${t('finance.count', { n: x.count })} · ${money(x.amount)}`;

const daysCsv = (r) =>
  [
    csvLine([
      t('col.day'),
      `${t('col.charges')} #`,
      `${t('col.charges')} CNY`,
      `${t('col.refunds')} #`,
      `${t('col.refunds')} CNY`,
      `${t('col.flagged')} #`,
      `${t('col.flagged')} CNY`,
      `${t('col.flaggedRefunds')} #`,
      `${t('col.flaggedRefunds')} CNY`,
      `${t('col.net')} CNY`,
    ]),
    ...[...r.days, { ...r.total, day: t('finance.total') }].map((d) =>
      csvLine([
        d.day,
        d.charges.count,
        yuan(d.charges.amount.value),
        d.refunds.count,
        yuan(d.refunds.amount.value),
        d.flagged.count,
        yuan(d.flagged.amount.value),
        d.flaggedRefunds.count,
        yuan(d.flaggedRefunds.amount.value),
        yuan(d.net.value),
      ]),
    ),
  ].join('\r\n');

const entriesCsv = (entries) =>
  [
    csvLine([t('col.time'), t('col.entryKind'), 'CNY', t('col.order'), t('col.payment'), t('col.trade'), t('col.product')]),
    ...entries.map((e) => csvLine([e.at, t(`finance.kind.${e.kind}`), yuan(e.amount.value), e.orderId, e.paymentId, e.tradeNo ?? e.refundNo ?? '', e.subject])),
  ].join('\r\n');

const allEntries = async (day) => {
  const entries = [];
  let cursor;
  for (let i = 0; i < MAX_ENTRY_PAGES; i++) {
    const page = await get('/v1/finance/entries', { day, limit: 200, cursor });
    entries.push(...page.items);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return entries;
};

export const financeView = (q) => {
  const from = DAY.test(q.get('from') ?? '') ? q.get('from') : cstDay(6);
  const to = DAY.test(q.get('to') ?? '') ? q.get('to') : cstDay(0);
  const fromInput = h('input', { type: 'date', id: 'finance-from', name: 'from', value: from, required: true });
  const toInput = h('input', { type: 'date', id: 'finance-to', name: 'to', value: to, required: true });
  const days = h('div', { id: 'finance-days', 'aria-live': 'polite' });
  const details = h('section', { id: 'finance-details', 'aria-live': 'polite' });

  const showDay = async (day) => {
    details.replaceChildren(h('p', {}, t('app.loading')));
    try {
      const entries = await allEntries(day);
      details.replaceChildren(
        h('h2', { id: 'details-title', tabindex: '-1' }, t('finance.details', { day })),
        ...(entries.length
          ? [
              h(
                'button',
                { type: 'button', id: 'export-day', onclick: () => download(`finance-entries-${day}.csv`, entriesCsv(entries)) },
                t('finance.exportDay'),
              ),
              table(
                t('finance.details', { day }),
                [t('col.time'), t('col.entryKind'), t('col.amount'), t('col.order'), t('col.trade'), t('col.product')],
                entries.map((e) => [
                  time(e.at),
                  t(`finance.kind.${e.kind}`),
                  money(e.amount),
                  e.orderId ? link(`#/orders/${e.orderId}`, e.orderId.slice(0, 8), { 'aria-label': `${t('col.order')} ${e.orderId}` }) : '',
                  e.tradeNo ?? e.refundNo ?? '',
                  e.subject,
                ]),
                { class: 'entries' },
              ),
            ]
          : [h('p', {}, t('finance.noEntries'))]),
      );
      document.getElementById('details-title')?.focus();
    } catch (err) {
      details.replaceChildren(errorMessage(err));
    }
  };

  const load = async () => {
    days.replaceChildren(h('p', {}, t('app.loading')));
    try {
      const r = await get('/v1/finance/days', { from, to });
      const row = (d, header) => [header, tally(d.charges), tally(d.refunds), tally(d.flagged), tally(d.flaggedRefunds), h('strong', {}, money(d.net))];
      days.replaceChildren(
        h('button', { type: 'button', id: 'export-days', onclick: () => download(`finance-days-${from}-${to}.csv`, daysCsv(r)) }, t('finance.export')),
        table(
          t('finance.caption'),
          [t('col.day'), t('col.charges'), t('col.refunds'), t('col.flagged'), t('col.flaggedRefunds'), t('col.net')],
          [
            ...r.days.map((d) =>
              row(
                d,
                h('button', { type: 'button', class: 'link', 'aria-label': t('finance.detailsOf', { day: d.day }), onclick: () => showDay(d.day) }, d.day),
              ),
            ),
            row(r.total, t('finance.total')),
          ],
          { class: 'finance' },
        ),
      );
    } catch (err) {
      days.replaceChildren(errorMessage(err));
    }
  };

  load();
  return h(
    'section',
    { 'aria-labelledby': 'page-title' },
    heading(t('finance.title')),
    h(
      'form',
      {
        class: 'search',
        onsubmit: (e) => {
          e.preventDefault();
          location.hash = `#/finance?${new URLSearchParams({ from: fromInput.value, to: toInput.value })}`;
        },
      },
      h('label', { for: 'finance-from' }, t('finance.from')),
      fromInput,
      h('label', { for: 'finance-to' }, t('finance.to')),
      toInput,
      h('button', { type: 'submit' }, t('finance.show')),
    ),
    h('p', { class: 'hint' }, t('app.tz')),
    days,
    details,
  );
};
