// Pieces every view uses: the confirmation dialog, announcements for screen readers, messages,
// and refreshing a part of the page without losing the agent's place.
import { h, time } from './dom.js';
import { t } from './i18n.js';
import { problemWords } from './words.js';

/** Asks before an action; resolves true only when the agent confirms. Escape or "go back" is no. */
export const confirmAction = (text) => {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = t('action.confirm.title');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-yes').textContent = t('action.confirm.yes');
  document.getElementById('confirm-no').textContent = t('action.confirm.no');
  const opener = document.activeElement;
  dialog.returnValue = 'cancel';
  dialog.showModal();
  document.getElementById('confirm-no').focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
        resolve(dialog.returnValue === 'ok');
      },
      { once: true },
    );
  });
};

/** Says something to screen-reader users without moving their focus. */
export const announce = (text) => {
  const region = document.getElementById('announce');
  region.textContent = '';
  // A fresh text node after clearing, so the same words are announced again.
  requestAnimationFrame(() => (region.textContent = text));
};

/** A message box: 'ok' is polite (role=status), 'error' interrupts (role=alert). */
export const message = (kind, text) => h('p', { class: `msg ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);

export const errorMessage = (err) => message('error', problemWords(err?.problem));

/**
 * A part of the page that re-renders only when its data changed, so a refresh does not move the
 * agent's focus or scroll. render(data) returns the new content.
 */
export const region = (props, render) => {
  const el = h('div', props);
  let last;
  return {
    el,
    show(data) {
      const key = JSON.stringify(data);
      if (key === last) return;
      last = key;
      const focusedId = el.contains(document.activeElement) ? document.activeElement.id : '';
      el.replaceChildren(...[render(data)].flat().filter(Boolean));
      if (focusedId) document.getElementById(focusedId)?.focus();
    },
    error(err) {
      last = undefined;
      el.replaceChildren(errorMessage(err));
    },
  };
};

/**
 * Runs `load` now and every `everyMs` until the view is left (the signal aborts). Each run's
 * failure is shown by the caller; the loop keeps going (the service may be catching up).
 */
export const refreshing = (signal, everyMs, load) => {
  let timer;
  const run = async () => {
    if (signal.aborted) return;
    try {
      await load();
    } catch {
      // load shows its own errors; the loop goes on (the service may be catching up)
    } finally {
      if (!signal.aborted) timer = setTimeout(run, everyMs);
    }
  };
  signal.addEventListener('abort', () => clearTimeout(timer));
  return run();
};

export const updatedAt = () => h('p', { class: 'updated' }, t('app.updatedAt', { time: time(new Date().toISOString()) }));

export const heading = (text) => h('h1', { tabindex: '-1', id: 'page-title' }, text);

export const link = (href, text, props = {}) => h('a', { href, ...props }, text);
