// The console's shell: sign-in gate, navigation by role, language switch, and the hash router.
import { OUTBOUND } from './api.js';
import { h } from './dom.js';
import { lang, setLang, t } from './i18n.js';
import { current, may, onSessionEnd, signOut } from './session.js';
import { announce } from './ui.js';
import { cardView } from './views/card.js';
import { financeView } from './views/finance.js';
import { orderView } from './views/order.js';
import { queueView } from './views/queue.js';
import { searchView } from './views/search.js';
import { signInView } from './views/signin.js';
import { actorWords } from './words.js';

/** The places in the console, each shown only to a role that may call what it needs. */
const PLACES = [
  { href: '#/search', label: 'nav.search', allowed: () => may('GET', '/v1/orders') || may('GET', '/v1/orders/:orderId/history') },
  { href: '#/queue', label: 'nav.queue', allowed: () => may('GET', OUTBOUND) },
  { href: '#/finance', label: 'nav.finance', allowed: () => may('GET', '/v1/finance/days') },
];

const ROUTES = [
  [/^\/search$/, (_m, q, ctx) => searchView(q, ctx)],
  [/^\/orders\/([0-9a-fA-F-]{36})$/, (m, _q, ctx) => orderView(m[1], ctx)],
  [/^\/cards\/([A-Za-z0-9._:-]{1,64})$/, (m, _q, ctx) => cardView(decodeURIComponent(m[1]), ctx)],
  [/^\/queue$/, (_m, _q, ctx) => queueView(ctx)],
  [/^\/finance$/, (_m, q, ctx) => financeView(q, ctx)],
];

/** The page the address asks for (`#/orders/…`), or '' for none or the sign-in itself. */
const pageAsked = () => {
  const path = location.hash.replace(/^#/, '').split('?')[0];
  return path && path !== '/signin' ? location.hash : '';
};

let leaving = new AbortController();
/** Where the agent was going when the console asked them to sign in. */
let afterSignIn = '';
let signInNote = '';

const main = () => document.getElementById('main');

const renderShell = () => {
  document.title = t('app.title');
  document.documentElement.lang = lang();
  document.getElementById('brand').textContent = t('app.brand');
  document.getElementById('skip-link').textContent = t('app.skip');
  const langButton = document.getElementById('lang');
  langButton.textContent = t('app.lang.switch');
  langButton.setAttribute('aria-label', t('app.lang.label'));
  langButton.lang = lang() === 'en' ? 'zh-CN' : 'en';
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', t('app.nav'));
  const s = current();
  const here = location.hash.split('?')[0];
  nav.replaceChildren(
    ...(s
      ? [
          h(
            'ul',
            {},
            PLACES.filter((p) => p.allowed()).map((p) => h('li', {}, h('a', { href: p.href, ...(here === p.href && { 'aria-current': 'page' }) }, t(p.label)))),
          ),
        ]
      : []),
  );
  document
    .getElementById('who')
    .replaceChildren(
      ...(s
        ? [
            h('span', {}, t('app.signedInAs', { who: actorWords({ role: s.role, name: s.name, client: s.client }) })),
            h('button', { type: 'button', class: 'link', id: 'signout', onclick: () => signOut() }, t('app.signout')),
          ]
        : []),
    );
};

const home = () => (may('GET', '/v1/orders') ? '#/search' : may('GET', '/v1/finance/days') ? '#/finance' : '#/search');

const route = () => {
  leaving.abort();
  leaving = new AbortController();
  const ctx = { signal: leaving.signal };
  renderShell();
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  const q = new URLSearchParams(query ?? '');
  if (!current()) {
    afterSignIn = pageAsked() || afterSignIn;
    main().replaceChildren(
      signInView(signInNote, () => {
        // Asked again when the answer comes: a page opened while the sign-in was under way, whose
        // hashchange has not run yet, is where the agent goes, not the home page.
        const to = afterSignIn || pageAsked() || home();
        afterSignIn = '';
        signInNote = '';
        if (location.hash === to) route();
        else location.hash = to;
      }),
    );
    focusTitle();
    return;
  }
  if (!path || path === '/' || path === '/signin') {
    location.replace(home());
    return;
  }
  const found = ROUTES.map(([re, view]) => [re.exec(path), view]).find(([m]) => m);
  main().replaceChildren(found ? found[1](found[0], q, ctx) : h('p', {}, t('app.notFound')));
  focusTitle();
};

/** After a page change, reading starts at the new page's title. */
const focusTitle = () => {
  const title = document.getElementById('page-title');
  if (title) {
    title.focus({ preventScroll: true });
    announce(title.textContent ?? '');
  }
};

onSessionEnd((reason) => {
  signInNote = reason === 'expired' ? t('signin.expired') : reason === 'revoked' ? t('signin.revoked') : t('signin.signedOut');
  // Expired or revoked: sign in again and come back here. Signed out: start afresh.
  if (reason !== 'signed-out' || location.hash === '#/signin') return queueMicrotask(route);
  afterSignIn = '';
  location.hash = '#/signin';
});

document.getElementById('lang').addEventListener('click', () => {
  setLang(lang() === 'en' ? 'zh-CN' : 'en');
  route();
});

addEventListener('hashchange', route);
setLang(lang());
route();
