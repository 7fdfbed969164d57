// The provisioning queue: orders whose latest BOSS request failed or is being retried, with
// reprovision on a selected set.
import { get, OUTBOUND, post } from '../api.js';
import { h, table, time } from '../dom.js';
import { t } from '../i18n.js';
import { may } from '../session.js';
import { announce, confirmAction, heading, link, message, refreshing, region } from '../ui.js';
import { problemWords } from '../words.js';

const REFRESH_MS = 5000;
const REPROVISION = ['POST', '/v1/orders/:orderId/reprovision'];

/** Each order's latest BOSS request, when it has failed or is being retried. */
const needingAHand = async (signal) => {
  const [failed, pending] = await Promise.all([
    get(OUTBOUND, { kind: 'boss', status: 'failed', limit: 100 }, { signal }),
    get(OUTBOUND, { kind: 'boss', status: 'pending', limit: 100 }, { signal }),
  ]);
  const retrying = pending.items.filter((x) => x.attempts > 0);
  // A failed request matters only while no later request of the same order replaced it.
  const orders = [...new Set(failed.items.map((x) => x.orderId))];
  const latest = await Promise.all(
    orders.map(async (orderId) => {
      const all = (await get(OUTBOUND, { kind: 'boss', orderId, limit: 200 }, { signal })).items;
      return all.reduce((a, b) => (b.requestNo > a.requestNo ? b : a));
    }),
  );
  return [...latest.filter((x) => x.status === 'failed'), ...retrying].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
};

export const queueView = ({ signal }) => {
  const selected = new Set();
  const canReprovision = may(...REPROVISION);
  const result = h('div', { id: 'queue-result' });
  const submit = h('button', { type: 'button', id: 'reprovision-selected', disabled: true }, t('queue.reprovision', { n: 0 }));
  const onSelection = () => {
    submit.textContent = t('queue.reprovision', { n: selected.size });
    submit.disabled = selected.size === 0;
  };

  const list = region({ id: 'queue' }, (items) =>
    items.length
      ? table(
          t('queue.caption'),
          [
            ...(canReprovision ? [t('col.select')] : []),
            t('col.order'),
            t('col.request'),
            t('col.status'),
            t('col.attempts'),
            t('col.lastError'),
            t('col.nextAttempt'),
            t('col.finishedAt'),
          ],
          items.map((x) => [
            ...(canReprovision
              ? [
                  h('input', {
                    type: 'checkbox',
                    id: `pick-${x.orderId}`,
                    checked: selected.has(x.orderId),
                    'aria-label': t('queue.select', { id: x.orderId }),
                    onchange: (e) => {
                      if (e.currentTarget.checked) selected.add(x.orderId);
                      else selected.delete(x.orderId);
                      onSelection();
                    },
                  }),
                ]
              : []),
            link(`#/orders/${x.orderId}`, x.orderId.slice(0, 8), { 'aria-label': `${t('col.order')} ${x.orderId}` }),
            `#${x.requestNo}`,
            x.status === 'failed' ? t('queue.failed') : t('queue.retrying'),
            String(x.attempts),
            x.lastError ?? '',
            time(x.nextAttemptAt),
            time(x.finishedAt),
          ]),
          { class: 'queue' },
        )
      : h('p', {}, t('queue.none')),
  );

  const load = async () => {
    try {
      const items = await needingAHand(signal);
      for (const id of [...selected]) if (!items.some((x) => x.orderId === id)) selected.delete(id);
      onSelection();
      list.show(items);
    } catch (err) {
      if (err?.name !== 'AbortError') list.error(err);
      throw err;
    }
  };

  submit.addEventListener('click', async () => {
    const ids = [...selected];
    if (!ids.length || !(await confirmAction(t('queue.confirm', { n: ids.length })))) return;
    submit.disabled = true;
    const outcomes = await Promise.all(
      ids.map((id) =>
        post(`/v1/orders/${id}/reprovision`).then(
          () => ({ id, ok: true }),
          (err) => ({ id, ok: false, why: problemWords(err?.problem) }),
        ),
      ),
    );
    const bad = outcomes.filter((o) => !o.ok);
    for (const o of outcomes) if (o.ok) selected.delete(o.id);
    const summary = t('queue.result', { ok: outcomes.length - bad.length, bad: bad.length });
    result.replaceChildren(
      message(bad.length ? 'error' : 'ok', summary),
      bad.length
        ? h(
            'ul',
            {},
            bad.map((o) => h('li', {}, `${o.id.slice(0, 8)}: ${o.why}`)),
          )
        : null,
    );
    announce(summary);
    onSelection();
    await load().catch(() => undefined);
  });

  refreshing(signal, REFRESH_MS, load);
  return h(
    'section',
    { 'aria-labelledby': 'page-title' },
    heading(t('queue.title')),
    h('p', {}, t('queue.intro')),
    canReprovision ? h('div', { class: 'buttons' }, submit) : null,
    result,
    list.el,
  );
};
