// Sign-in with an agent's token; the service says whose it is and what the role may do.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { signIn } from '../session.js';
import { heading, message } from '../ui.js';

export const signInView = (note, onSignedIn) => {
  const feedback = h('div', { id: 'signin-feedback' }, note ? message('error', note) : null);
  const token = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'signin-intro',
  });
  const submit = h('button', { type: 'submit' }, t('signin.submit'));
  const form = h(
    'form',
    {
      class: 'card narrow',
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        const value = token.value.trim();
        if (!value) {
          feedback.replaceChildren(message('error', t('signin.empty')));
          token.focus();
          return;
        }
        submit.disabled = true;
        const s = await signIn(value);
        submit.disabled = false;
        if (s.refused) {
          feedback.replaceChildren(
            message('error', t(s.refused === 'wrongRole' ? 'signin.wrongRole' : s.refused === 'bad' ? 'signin.bad' : 'problem.network')),
          );
          token.select();
          token.focus();
          return;
        }
        token.value = '';
        onSignedIn(s);
      },
    },
    heading(t('signin.title')),
    h('p', { id: 'signin-intro' }, t('signin.intro')),
    feedback,
    h('label', { for: 'token' }, t('signin.token')),
    token,
    submit,
  );
  return form;
};
