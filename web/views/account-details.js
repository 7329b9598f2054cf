// The account's fields as an editable form. Only fields the user changed are sent; fields
// they did not touch follow live updates (see `syncInput`). A viewer, who cannot change them,
// gets the same fields as a list of facts instead (`write-only` / `viewer-only` in style.css).
//
// Custom fields come from the account's `custom_fields`: every field the workspace defines,
// in definition order with its label and an input suited to its type (a select for a choice),
// whether or not the account has a value, then the values of fields nobody defined. A value
// that does not fit its definition is shown as it is, in a text input marked invalid.

import * as api from '../api.js';
import { field, h, isEdited, reconcile, replace, select, syncInput } from '../dom.js';
import { ACCOUNT_STAGES, capitalize } from '../format.js';
import { notify } from '../toasts.js';

/** The fields of the form, in its order, with their labels. */
const FIELDS = [
  ['name', 'Name'], ['domain', 'Domain'], ['stage', 'Stage'], ['tier', 'Tier'], ['owner', 'Owner'],
  ['industry', 'Industry'], ['phone', 'Phone'], ['website', 'Website'], ['tags', 'Tags'],
];

export function detailsPart({ accountId, context, run }) {
  const members = (context.me?.workspace?.members ?? []).map((m) => m.user);
  const owners = h('datalist', { id: 'details-owners' }, members.map((value) => h('option', { value })));

  const input = (name, props = {}) => h('input', { dataset: { field: name }, autocomplete: 'off', ...props });
  const inputs = {
    name: input('name', { required: true }),
    domain: input('domain', { inputmode: 'url' }),
    industry: input('industry'),
    tier: input('tier'),
    stage: select([['', '—'], ...ACCOUNT_STAGES.map((s) => [s, capitalize(s)])], { dataset: { field: 'stage' } }),
    owner: input('owner', { list: owners.id }),
    phone: input('phone', { type: 'tel' }),
    website: input('website', { inputmode: 'url' }),
    tags: input('tags'),
  };
  const custom = h('div', { class: 'custom-fields' });
  const newKey = h('input', { autocomplete: 'off', placeholder: 'region' });
  const newValue = h('input', { autocomplete: 'off', placeholder: 'EMEA' });
  const addCustom = h('button', { type: 'button', class: 'button' }, 'Add field');

  const save = h('button', { type: 'submit', class: 'button primary' }, 'Save changes');
  const discard = h('button', { type: 'button', class: 'button subtle', hidden: true }, 'Discard');
  const state = h('span', { class: 'form-state muted', 'aria-live': 'polite' });

  const form = h('form', { class: 'details-form write-only', 'aria-label': 'Account details' },
    h('div', { class: 'form-grid' },
      field('Name', inputs.name), field('Domain', inputs.domain),
      field('Stage', inputs.stage), field('Tier', inputs.tier),
      field('Owner', inputs.owner), field('Industry', inputs.industry),
      field('Phone', inputs.phone), field('Website', inputs.website),
      h('div', { class: 'span-2' }, field('Tags', inputs.tags, 'Comma separated')),
      owners),
    custom,
    h('div', { class: 'form-actions' }, save, discard, state));

  const addForm = h('details', { class: 'add-item write-only' },
    h('summary', {}, 'Add a custom field'),
    h('div', { class: 'inline-form' }, field('Field name', newKey), field('Value', newValue), addCustom));

  const facts = h('dl', { class: 'facts viewer-only', 'aria-label': 'Account details' });

  /** Every input of the form, custom fields included. */
  const allInputs = () => [...form.querySelectorAll('[data-field]')];

  function showState() {
    const edited = allInputs().filter(isEdited).length;
    state.textContent = edited ? `${edited} unsaved ${edited === 1 ? 'change' : 'changes'}` : '';
    discard.hidden = edited === 0;
    form.classList.toggle('is-edited', edited > 0);
  }

  form.addEventListener('input', showState);
  form.addEventListener('change', showState);
  discard.addEventListener('click', () => {
    for (const control of allInputs()) control.value = control.dataset.saved ?? '';
    showState();
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const edited = allInputs().filter(isEdited);
    if (edited.length === 0) {
      notify('Nothing to save: no field was changed.', 'info');
      return;
    }
    if (!inputs.name.value.trim()) {
      notify('An account needs a name.', 'error');
      inputs.name.focus();
      return;
    }
    const fields = {};
    for (const control of edited) fields[control.dataset.field] = normalize(control.dataset.field, control.value);
    const saved = await run(() => api.setFields(accountId, fields), save);
    if (saved) {
      // What was sent is what the server has now: these inputs are no longer "edited".
      for (const control of edited) control.dataset.saved = control.value;
      showState();
      notify('Saved.', 'success');
    }
  });

  addCustom.addEventListener('click', async () => {
    const key = newKey.value.trim();
    if (!/^[\w-]+$/.test(key)) {
      notify('A field name is one word (letters, digits, - or _).', 'error');
      newKey.focus();
      return;
    }
    const saved = await run(() => api.setFields(accountId, { [`custom.${key}`]: newValue.value.trim() }), addCustom);
    if (saved) {
      newKey.value = newValue.value = '';
      newKey.focus();
    }
  });

  return {
    element: h('section', { class: 'card', 'aria-labelledby': 'details-title' },
      h('h2', { id: 'details-title' }, 'Details'), form, addForm, facts),
    update(account) {
      replace(facts, factRows(account));
      ensureOption(inputs.stage, account.stage);
      for (const [name, control] of Object.entries(inputs)) {
        const value = name === 'tags' ? (account.tags ?? []).join(', ') : account[name];
        syncInput(control, value);
      }
      const conflicted = new Set((account.conflicts ?? []).map((c) => c.field));
      reconcile(custom, customFields(account), customKey, customRow, (row, shown) => {
        const control = row.querySelector('[data-field]');
        if (control.tagName === 'SELECT') ensureOption(control, shown.value);
        syncInput(control, shown.value);
      });
      for (const control of allInputs()) control.classList.toggle('has-conflict', conflicted.has(control.dataset.field));
      showState();
    },
  };
}

/** The read-only view of the fields: a `<dt>`/`<dd>` pair each, custom fields last. */
function factRows(account) {
  const shown = (name) => {
    if (name === 'tags') return (account.tags ?? []).join(', ');
    return name === 'stage' && account.stage ? capitalize(account.stage) : account[name];
  };
  const rows = FIELDS.map(([name, label]) => [label, shown(name)]);
  for (const { label, value } of customFields(account)) rows.push([label, value]);
  return rows.map(([label, value]) => [
    h('dt', {}, label),
    h('dd', {}, value == null || value === '' ? h('span', { class: 'muted' }, '—') : String(value)),
  ]);
}

/**
 * The custom fields to show: `custom_fields` as the node gives them, or, from a node that
 * does not give them, the plain values as fields nobody defined.
 */
function customFields(account) {
  if (Array.isArray(account.custom_fields)) return account.custom_fields;
  return Object.entries(account.custom ?? {}).map(([name, value]) => ({ name, label: name, type: null, value, valid: true }));
}

/** A row is rebuilt when what its input depends on changes: the type, options or validity. */
function customKey(shown) {
  return JSON.stringify([shown.name, shown.label, shown.type, shown.options ?? [], shown.valid]);
}

/** What each type of field is typed into; a choice is a select. */
const INPUT_TYPES = { number: 'number', date: 'date', url: 'url', email: 'email' };

/** What a value of each type looks like, for a value that does not fit. */
const EXPECTED = {
  number: 'a number', date: 'a date', url: 'an http(s) address', email: 'an email address', choice: 'one of the options',
};

function customRow(shown) {
  const dataset = { field: `custom.${shown.name}`, type: shown.type ?? 'undefined' };
  let control;
  if (shown.valid && shown.type === 'choice') {
    control = select([['', '—'], ...(shown.options ?? [])], { dataset });
  } else {
    const type = shown.valid ? INPUT_TYPES[shown.type] ?? 'text' : 'text';
    control = h('input', { type, dataset, autocomplete: 'off', step: type === 'number' ? 'any' : null });
  }
  const hint = shown.valid ? null : `Does not fit this field: expected ${EXPECTED[shown.type] ?? 'another value'}`;
  control.classList.toggle('is-invalid', !shown.valid);
  return field(shown.label, control, hint);
}

/** A select must offer the current value even if it is not one we know. */
function ensureOption(selectElement, value) {
  if (value && ![...selectElement.options].some((option) => option.value === value)) {
    selectElement.append(h('option', { value }, value));
  }
}

/** Tags are written "a,b"; everything else as typed, trimmed. */
function normalize(name, value) {
  if (name === 'tags') return value.split(',').map((tag) => tag.trim()).filter(Boolean).join(',');
  return value.trim();
}
