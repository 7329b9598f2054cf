// The "New account" form of the account list: a panel that opens under the page heading and,
// once the account exists, goes to its page.

import * as api from '../api.js';
import { field, h, select } from '../dom.js';
import { ACCOUNT_STAGES, capitalize } from '../format.js';
import { notify, notifyError } from '../toasts.js';

/** The "New account" form: a hidden panel until the button opens it. */
export function newAccountPanel(members, close) {
  const name = h('input', { name: 'name', required: true, autocomplete: 'off' });
  const domain = h('input', { name: 'domain', autocomplete: 'off', placeholder: 'globex.com' });
  const stage = select([['', '—'], ...ACCOUNT_STAGES.map((s) => [s, capitalize(s)])], { name: 'stage', value: 'lead' });
  const tiers = h('datalist', { class: 'tiers', id: 'new-account-tiers' });
  const tier = h('input', { name: 'tier', list: tiers.id, autocomplete: 'off' });
  const owners = h('datalist', { id: 'new-account-owners' }, members.map((value) => h('option', { value })));
  const owner = h('input', { name: 'owner', list: owners.id, autocomplete: 'off' });
  const industry = h('input', { name: 'industry', autocomplete: 'off' });
  const phone = h('input', { name: 'phone', type: 'tel', autocomplete: 'off' });
  const website = h('input', { name: 'website', type: 'url', autocomplete: 'off', placeholder: 'https://' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Create account');

  const form = h('form', { class: 'card form-grid', 'aria-label': 'New account' },
    h('h2', { class: 'form-title' }, 'New account'),
    field('Name', name), field('Domain', domain), field('Stage', stage), field('Tier', tier),
    field('Owner', owner), field('Industry', industry), field('Phone', phone), field('Website', website),
    tiers, owners,
    h('div', { class: 'form-actions' },
      submit,
      h('button', { type: 'button', class: 'button subtle', on: { click: close } }, 'Cancel')));

  form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { name: name.value.trim() };
    if (!body.name) {
      notify('An account needs a name.', 'error');
      name.focus();
      return;
    }
    for (const input of [domain, stage, tier, owner, industry, phone, website]) {
      const value = input.value.trim();
      if (value) body[input.name] = value;
    }
    submit.disabled = true;
    try {
      const created = await api.createAccount(body);
      form.reset();
      notify(`Created ${body.name}.`, 'success');
      location.hash = `#/accounts/${encodeURIComponent(created.id)}`;
    } catch (error) {
      notifyError(error);
    } finally {
      submit.disabled = false;
    }
  });

  // `write-only`: never shown to a viewer, even if something opened it.
  return h('div', { class: 'new-account write-only', id: 'new-account', hidden: true }, form);
}
