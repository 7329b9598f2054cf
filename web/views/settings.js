// `#/settings`: the workspace's settings. For now its custom fields: the definitions every
// account shows (`#field-definitions`, one `.field-definition[data-field]` each, with a
// `.remove-field` button), and a form to define one (`#field-name`, `#field-label`,
// `#field-type`, `#field-options` for a choice, `#field-add`). Both are `write-only` where
// they write; a viewer sees the list. Refetched when the workspace document changes.

import * as api from '../api.js';
import { coalesce, field, h, reconcile, select } from '../dom.js';
import { notify, notifyError } from '../toasts.js';

/** The types a custom field can have, with what the form calls them. */
const TYPES = [
  ['text', 'Text'], ['number', 'Number'], ['date', 'Date'], ['choice', 'Choice (a list of options)'],
  ['url', 'Web address'], ['email', 'Email address'],
];
const TYPE_NAMES = Object.fromEntries(TYPES.map(([value, label]) => [value, label.replace(/ \(.*/, '')]));

export function mount(root, _params, context) {
  context.setTitle('Settings');
  let controller = null;

  const list = h('ul', { class: 'definition-list', id: 'field-definitions', 'aria-labelledby': 'fields-title' });
  const none = h('p', { class: 'muted empty-line', hidden: true }, 'No custom fields yet: accounts show only the fields every account has.');
  const name = h('input', { id: 'field-name', autocomplete: 'off', placeholder: 'region', required: true });
  const label = h('input', { id: 'field-label', autocomplete: 'off', placeholder: 'Sales region' });
  const type = select(TYPES, { id: 'field-type' });
  const options = h('input', { id: 'field-options', autocomplete: 'off', placeholder: 'EMEA, Americas, APAC' });
  const optionsField = field('Options', options, 'Comma separated');
  const add = h('button', { type: 'submit', class: 'button primary', id: 'field-add' }, 'Add field');
  const form = h('form', { class: 'inline-form write-only', 'aria-label': 'Define a custom field' },
    field('Name', name, 'One word: letters, digits, - or _'), field('Label', label, 'What people see'),
    field('Type', type), optionsField, add);

  root.append(h('section', { class: 'page settings-page' },
    h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Settings'),
      h('p', { class: 'muted' }, 'These apply to the whole workspace, on every member’s replica.'))),
    h('section', { class: 'card', 'aria-labelledby': 'fields-title' },
      h('h2', { id: 'fields-title' }, 'Custom fields'),
      h('p', { class: 'muted' }, 'Every account shows these fields, in this order, and values are checked against their type. Removing a field keeps the values accounts hold.'),
      list, none, form)));

  const showOptions = () => {
    optionsField.hidden = type.value !== 'choice';
  };
  type.addEventListener('change', showOptions);
  showOptions();

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const definition = {
      name: name.value.trim(),
      type: type.value,
      label: label.value.trim() || null,
      options: type.value === 'choice' ? options.value.split(',').map((o) => o.trim()).filter(Boolean) : [],
    };
    add.disabled = true;
    try {
      await api.defineField(definition);
      notify(`Added the field ${definition.label ?? definition.name}.`, 'success');
      name.value = label.value = options.value = '';
      name.focus();
    } catch (error) {
      notifyError(error);
    } finally {
      add.disabled = false;
      load();
    }
  });

  async function remove(definition, button) {
    button.disabled = true;
    try {
      await api.removeField(definition.name);
      notify(`Removed the field ${definition.label}. Accounts keep their values.`, 'success');
    } catch (error) {
      notifyError(error);
      button.disabled = false;
    } finally {
      load();
    }
  }

  function definitionRow(definition) {
    const button = h('button', {
      type: 'button', class: 'button subtle-outline write-only remove-field', dataset: { field: definition.name },
      'aria-label': `Remove the field ${definition.label}`,
      on: { click: () => remove(definition, button) },
    }, 'Remove');
    const kind = TYPE_NAMES[definition.type] ?? definition.type;
    return h('li', { class: 'field-definition', dataset: { field: definition.name, type: definition.type } },
      h('div', { class: 'definition-text' },
        h('strong', {}, definition.label), ' ', h('code', {}, `custom.${definition.name}`),
        h('span', { class: 'muted definition-type' },
          definition.options?.length ? `${kind}: ${definition.options.join(', ')}` : kind)),
      button);
  }

  async function load() {
    controller?.abort();
    controller = new AbortController();
    try {
      const definitions = await api.listFields(controller.signal);
      reconcile(list, definitions, (d) => JSON.stringify(d), definitionRow, () => {});
      none.hidden = definitions.length > 0;
    } catch (error) {
      if (error.name !== 'AbortError') notifyError(error);
    }
  }

  load();
  const refresh = coalesce(load, 250);

  return {
    changed(detail) {
      if (detail.all || detail.workspace) refresh();
    },
    unmount() {
      controller?.abort();
      refresh.cancel();
    },
  };
}
