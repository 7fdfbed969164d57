// Building the page from data without ever parsing data as HTML, and formatting money and times.

/**
 * h('a', { href, class: 'x', onclick }, 'text', child…): an element. Strings become text nodes;
 * null, undefined and false children are skipped; arrays are flattened.
 */
export const h = (tag, props = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'checked' || key === 'value' || key === 'disabled') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
};

const append = (el, children) => {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
};

/** A table with a caption and column headers; rows are arrays of cells (the first is the row header). */
export const table = (caption, headers, rows, props = {}) =>
  h(
    'table',
    props,
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((x) => h('th', { scope: 'col' }, x)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((cells) =>
        h(
          'tr',
          {},
          cells.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c))),
        ),
      ),
    ),
  );

/** A definition list from [term, description] pairs; pairs with an empty description are left out. */
export const facts = (pairs) =>
  h(
    'dl',
    { class: 'facts' },
    pairs.filter(([, d]) => d !== null && d !== undefined && d !== '').map(([term, d]) => [h('dt', {}, term), h('dd', {}, d)]),
  );

/** "¥38.00" from integer fen; integer arithmetic only. */
const CNY = new Intl.NumberFormat('zh-CN', { style: 'currency', currency: 'CNY' });

/** Like the service's formatter: the fen written out as an exact decimal string for Intl, never a float. */
export const money = (m) => {
  if (!m || typeof m.value !== 'number') return '';
  return CNY.format(`${m.value < 0 ? '-' : ''}${yuan(Math.abs(m.value))}`);
};

/** "38.00" for CSV: yuan with two decimals from integer fen. */
export const yuan = (fen) => {
  const v = Math.abs(fen);
  return `${fen < 0 ? '-' : ''}${Math.trunc(v / 100)}.${String(v % 100).padStart(2, '0')}`;
};

const CST = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});
const CST_DAY = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' });

/** "2026-11-25 16:00:05" in China Standard Time, from an ISO time; '' for none. */
export const time = (iso) => (iso ? CST.format(new Date(iso)) : '');
/** "2026-11-25", the day in China Standard Time. */
export const day = (iso) => (iso ? CST_DAY.format(new Date(iso)) : '');
/** Today in China Standard Time, `n` days back. */
export const cstDay = (daysBack = 0) => CST_DAY.format(new Date(Date.now() - daysBack * 86_400_000));

/** Offers text as a file download (CSV with a BOM, so spreadsheet programs read the Chinese). */
export const download = (filename, text, type = 'text/csv;charset=utf-8') => {
  const url = URL.createObjectURL(new Blob(['\uFEFF', text], { type }));
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
};

const NUMBER = /^-?\d+(\.\d+)?$/;
/** Text a spreadsheet would run as a formula (a partner's trade number is untrusted) is kept as text. */
const inert = (s) => (!NUMBER.test(s) && /^[=+\-@\t\r]/.test(s) ? `'${s}` : s);
/** One CSV line: every field quoted, quotes doubled. */
export const csvLine = (fields) => fields.map((f) => `"${inert(String(f ?? '')).replaceAll('"', '""')}"`).join(',');
