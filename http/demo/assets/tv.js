// The set-top box (patent claims 1–3, the TV's side): pick a package with the remote, order it
// with mobile payment, see the order details and "confirm on your phone", then the TV's messages
// and the channels opening, as they happen. Arrow keys move, Enter chooses, Escape goes back.
import { call, day, every, h, maskedCard, money, newKey, refusal, time } from './demo.js';

const REFRESH_MS = 600;
const screen = document.getElementById('screen');
let products = [];
/** The screen shown: packages, one package, or the order placed from it. */
let at = { name: 'packages' };
let lastTv = null;

const focusables = () => [...screen.querySelectorAll('.tv-focus')];

const show = (name, ...content) => {
  screen.replaceChildren(...content);
  screen.dataset.screen = name;
  focusables()[0]?.focus();
};

const packagesScreen = () => {
  at = { name: 'packages' };
  show(
    'packages',
    h('h1', {}, '节目套餐'),
    h(
      'ul',
      { class: 'packages', 'aria-label': '节目套餐' },
      products.map((p) =>
        h(
          'li',
          {},
          h(
            'button',
            { type: 'button', class: 'tv-focus package', id: `pkg-${p.productId}`, onclick: () => detailScreen(p) },
            h('span', { class: 'name' }, p.name),
            h('span', { class: 'price' }, `${money(p.price)} / ${p.periodDays} 天`),
          ),
        ),
      ),
    ),
  );
};

const detailScreen = (p) => {
  // One key per visit of this screen: pressing "order" twice places one order.
  at = { name: 'detail', product: p, key: newKey() };
  const result = h('p', { id: 'order-error', class: 'error', role: 'alert' });
  show(
    'detail',
    h('h1', {}, p.name),
    h('p', { class: 'description' }, p.description),
    h('p', { class: 'channels' }, `包含频道：${p.channels.join('、')}`),
    h('p', { class: 'price big' }, `${money(p.price)} · ${p.periodDays} 天`),
    h(
      'div',
      { class: 'choices' },
      h(
        'button',
        {
          type: 'button',
          class: 'tv-focus primary',
          id: 'order-mobile',
          onclick: async (e) => {
            e.currentTarget.disabled = true;
            const r = await call('POST', '/demo/api/tv/orders', { productId: p.productId, key: at.key });
            if (!r.ok) {
              e.currentTarget.disabled = false;
              result.textContent = refusal(r);
              return;
            }
            orderScreen(r.body);
          },
        },
        '手机支付订购',
      ),
      h('button', { type: 'button', class: 'tv-focus', id: 'back', onclick: packagesScreen }, '返回'),
    ),
    result,
  );
};

/** What the TV says of an order in each status that needs nothing else of the order. */
const SAYS = {
  awaiting_confirmation: { text: '请在手机上确认支付', hint: '订单详情和验证码已发送到您的手机。' },
  payment_pending: { text: '正在支付…', hint: '手机已确认，等待支付平台。' },
  paid: { text: '支付成功，正在开通频道…', hint: '' },
  cancelled: { text: '订单已取消', hint: '' },
  expired: { text: '订单已过期（没有在手机上确认）', hint: '' },
  payment_failed: { text: '支付未成功，订单已关闭', hint: '' },
  provisioning_failed: { text: '频道未能开通，已为您退款', hint: '' },
  refunded: { text: '频道未能开通，已为您退款', hint: '' },
};

/** What the TV says about the order now, from the ledger's view of it (none yet: as just placed). */
const progress = (o) => {
  const status = o?.status ?? 'awaiting_confirmation';
  if (status === 'provisioned') {
    return { text: `频道已开通，有效期至 ${day(o.boss?.validUntil)}`, hint: `可以收看：${(o.product?.channels ?? []).join('、')}` };
  }
  return Object.hasOwn(SAYS, status) ? SAYS[status] : { text: status, hint: '' };
};

const orderScreen = (placed) => {
  at = { name: 'order', placed };
  show(
    'order',
    h('h1', {}, '订单详情'),
    h(
      'dl',
      { class: 'details' },
      h('dt', {}, '套餐'),
      h('dd', {}, placed.product.name),
      h('dt', {}, '金额'),
      h('dd', { id: 'order-amount' }, money(placed.amount)),
      h('dt', {}, '支付手机'),
      h('dd', {}, placed.msisdn),
      h('dt', {}, '请在此前确认'),
      h('dd', {}, time(placed.expiresAt)),
      h('dt', {}, '订单号'),
      h('dd', {}, placed.orderId.slice(0, 8)),
    ),
    h('p', { id: 'tv-status', class: 'status big' }, progress(null).text),
    h('p', { id: 'tv-status-hint', class: 'hint' }, progress(null).hint),
    h('div', { class: 'choices' }, h('button', { type: 'button', class: 'tv-focus', id: 'back', onclick: packagesScreen }, '返回套餐列表')),
  );
};

const render = (tv) => {
  document.getElementById('card').textContent = `智能卡 ${maskedCard(tv.smartcardId)}`;
  const key = JSON.stringify([tv.messages, tv.entitlements]);
  if (key !== lastTv) {
    lastTv = key;
    document
      .getElementById('tv-messages')
      .replaceChildren(...tv.messages.map((m) => h('li', {}, h('time', { datetime: m.receivedAt }, time(m.receivedAt).slice(11, 16)), ' ', m.text)));
    document
      .getElementById('tv-open')
      .replaceChildren(
        ...(tv.entitlements.length ? tv.entitlements.map((e) => h('li', {}, `${e.name}：至 ${day(e.validUntil)}`)) : [h('li', { class: 'none' }, '暂无')]),
      );
  }
  if (at.name === 'order' && tv.order?.orderId === at.placed.orderId) {
    const p = progress(tv.order);
    const status = document.getElementById('tv-status');
    if (status.textContent !== p.text) {
      status.textContent = p.text;
      document.getElementById('tv-status-hint').textContent = p.hint;
      status.dataset.status = tv.order.status;
    }
  }
};

document.addEventListener('keydown', (e) => {
  const items = focusables();
  const i = items.indexOf(document.activeElement);
  if (e.key === 'ArrowDown' || e.key === 'ArrowRight') items[Math.min(i + 1, items.length - 1)]?.focus();
  else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') items[Math.max(i - 1, 0)]?.focus();
  else if ((e.key === 'Escape' || e.key === 'Backspace') && at.name !== 'packages') packagesScreen();
  else return;
  e.preventDefault();
});

const start = async () => {
  const r = await call('GET', '/demo/api/products');
  products = r.ok ? r.body.products : [];
  packagesScreen();
  every(REFRESH_MS, async () => {
    const orderId = at.name === 'order' ? at.placed.orderId : '';
    const tv = await call('GET', `/demo/api/tv${orderId ? `?orderId=${orderId}` : ''}`);
    if (tv.ok) render(tv.body);
  });
};

start();
