// The account's contacts, deals and tasks: a list each (keyed, so live updates keep open edit
// forms and focus) and a form to add one. Every control that writes is `write-only`, which
// style.css hides for a viewer (the node would refuse their writes).

import * as api from '../api.js';
import { field, h, reconcile, replace, select, syncInput } from '../dom.js';
import { capitalize, formatDay, formatMoney, isPast, parseMoney } from '../format.js';
import { notify } from '../toasts.js';

// ---- Contacts ---------------------------------------------------------------------------

export function contactsPart({ accountId, run }) {
  const list = h('ul', { class: 'item-list' });
  const empty = h('p', { class: 'muted empty-line' }, 'No contacts yet.');
  let mergedInto = new Map();

  const name = h('input', { required: true, autocomplete: 'off' });
  const title = h('input', { autocomplete: 'off' });
  const email = h('input', { type: 'email', autocomplete: 'off' });
  const phone = h('input', { type: 'tel', autocomplete: 'off' });
  const add = h('button', { type: 'submit', class: 'button primary' }, 'Add contact');
  const form = h('form', { class: 'form-grid' },
    field('Name', name), field('Title', title), field('Email', email), field('Phone', phone),
    h('div', { class: 'form-actions span-2' }, add));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const contact = { name: name.value.trim() };
    if (!contact.name) return notify('A contact needs a name.', 'error');
    for (const [key, input] of Object.entries({ title, email, phone })) {
      if (input.value.trim()) contact[key] = input.value.trim();
    }
    if (await run(() => api.addContact(accountId, contact), add)) {
      form.reset();
      name.focus();
    }
  });

  /** A contact row: what we know, plus an edit form for email and phone behind a button. */
  function createRow(contact) {
    const emailInput = h('input', { type: 'email', autocomplete: 'off' });
    const phoneInput = h('input', { type: 'tel', autocomplete: 'off' });
    const save = h('button', { type: 'submit', class: 'button primary' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'button subtle' }, 'Cancel');
    const edit = h('button', { type: 'button', class: 'button small subtle-outline write-only', 'aria-expanded': 'false' }, 'Edit');
    const editor = h('form', { class: 'inline-form write-only', hidden: true },
      field('Email', emailInput), field('Phone', phoneInput), h('div', { class: 'form-actions' }, save, cancel));
    const row = h('li', { class: 'item contact', dataset: { contactId: contact.id } },
      h('div', { class: 'item-main' }, h('div', { class: 'contact-text' }), edit), editor);

    const toggle = (open) => {
      editor.hidden = !open;
      edit.setAttribute('aria-expanded', String(open));
      if (open) emailInput.focus();
    };
    edit.addEventListener('click', () => toggle(editor.hidden));
    cancel.addEventListener('click', () => {
      emailInput.value = emailInput.dataset.saved ?? '';
      phoneInput.value = phoneInput.dataset.saved ?? '';
      toggle(false);
      edit.focus();
    });
    editor.addEventListener('submit', async (event) => {
      event.preventDefault();
      const id = row.dataset.contactId;
      // Send only what changed: rewriting an untouched value would also settle its conflict.
      const fields = {};
      for (const [key, input] of [['email', emailInput], ['phone', phoneInput]]) {
        if (input.value.trim() !== (input.dataset.saved ?? '')) fields[`contacts.${id}.${key}`] = input.value.trim();
      }
      if (Object.keys(fields).length === 0) {
        toggle(false);
        return;
      }
      if (await run(() => api.setFields(accountId, fields), save)) {
        emailInput.dataset.saved = emailInput.value.trim();
        phoneInput.dataset.saved = phoneInput.value.trim();
        toggle(false);
        edit.focus();
      }
    });
    row.inputs = { emailInput, phoneInput, edit };
    return row;
  }

  function updateRow(row, contact) {
    const { emailInput, phoneInput, edit } = row.inputs;
    edit.setAttribute('aria-label', `Edit ${contact.name}`);
    replace(row.querySelector('.contact-text'),
      h('span', { class: 'item-title' }, contact.name),
      contact.title ? h('span', { class: 'muted' }, ` · ${contact.title}`) : null,
      h('span', { class: 'item-sub' },
        contact.email ? h('a', { href: `mailto:${contact.email}` }, contact.email) : null,
        contact.email && contact.phone ? ' · ' : null,
        contact.phone ? h('a', { href: `tel:${contact.phone}` }, contact.phone) : null,
        !contact.email && !contact.phone ? h('span', { class: 'muted' }, 'No email or phone') : null),
      // Contacts merged into this one, as they now read: an edit made to one later shows here.
      (mergedInto.get(contact.id) ?? []).map((merged) => h('span', {
        class: 'item-sub muted contact-merged', dataset: { contactId: merged.id },
      }, `Merged: ${[merged.name, merged.title, merged.email, merged.phone].filter(Boolean).join(' · ')}`)));
    syncInput(emailInput, contact.email);
    syncInput(phoneInput, contact.phone);
  }

  return {
    element: section('Contacts', 'contacts', [list, empty], 'Add contact', form),
    update(account) {
      const contacts = account.contacts ?? [];
      mergedInto = new Map();
      for (const merged of account.merged_contacts ?? []) {
        mergedInto.set(merged.into, [...(mergedInto.get(merged.into) ?? []), merged]);
      }
      reconcile(list, contacts, (c) => c.id, createRow, updateRow);
      empty.hidden = contacts.length > 0;
    },
  };
}

// ---- Deals ------------------------------------------------------------------------------

export function dealsPart({ accountId, context, run }) {
  const list = h('ul', { class: 'item-list' });
  const empty = h('p', { class: 'muted empty-line' }, 'No deals yet.');
  const pipeline = () => context.me?.workspace?.pipeline ?? [];

  const title = h('input', { required: true, autocomplete: 'off' });
  const amount = h('input', { required: true, inputmode: 'decimal', autocomplete: 'off', placeholder: '24000' });
  const currency = h('input', { required: true, value: 'EUR', maxlength: 3, autocomplete: 'off', class: 'upper' });
  const stage = select(pipeline().map((s) => [s, capitalize(s)]));
  currency.addEventListener('input', () => {
    currency.dataset.touched = 'yes'; // from now on, the user's choice, not our guess
  });
  const close = h('input', { type: 'date' });
  const add = h('button', { type: 'submit', class: 'button primary' }, 'Add deal');
  const form = h('form', { class: 'form-grid' },
    h('div', { class: 'span-2' }, field('Title', title)),
    field('Amount', amount), field('Currency', currency, 'ISO code, e.g. EUR'),
    field('Stage', stage), field('Expected close', close),
    h('div', { class: 'form-actions span-2' }, add));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const code = currency.value.trim().toUpperCase();
    if (!/^[A-Z]{3}$/.test(code)) return notify('The currency is a three-letter code such as EUR.', 'error');
    const minor = parseMoney(amount.value, code);
    if (minor === null) return notify(`“${amount.value}” is not an amount in ${code}.`, 'error');
    const deal = { title: title.value.trim(), amount: minor, currency: code };
    if (!deal.title) return notify('A deal needs a title.', 'error');
    if (stage.value) deal.stage = stage.value;
    if (close.value) deal.close = close.value;
    if (await run(() => api.addDeal(accountId, deal), add)) {
      title.value = amount.value = close.value = '';
      title.focus();
    }
  });

  function createRow(deal) {
    const stageSelect = select([], { class: 'compact write-only' });
    stageSelect.addEventListener('change', () => {
      const id = stageSelect.closest('li').dataset.dealId;
      // The select stays enabled: disabling it would throw keyboard focus out of the list.
      run(() => api.setDealStage(accountId, id, stageSelect.value));
    });
    const label = h('label', { class: 'visually-hidden write-only' });
    // What a viewer sees instead of the select.
    const stageText = h('span', { class: 'badge deal-stage viewer-only' });
    const row = h('li', { class: 'item deal', dataset: { dealId: deal.id } },
      h('div', { class: 'item-main' }, h('div', { class: 'deal-text' }), label, stageSelect, stageText));
    stageSelect.id = `deal-stage-${deal.id}`;
    label.htmlFor = stageSelect.id;
    row.parts = { stageSelect, label, stageText };
    return row;
  }

  function updateRow(row, deal) {
    const { stageSelect, label, stageText } = row.parts;
    label.textContent = `Stage of ${deal.title}`;
    stageText.textContent = capitalize(deal.stage);
    replace(row.querySelector('.deal-text'),
      h('span', { class: 'item-title' }, deal.title),
      h('span', { class: 'item-sub' },
        h('strong', { class: 'money' }, formatMoney(deal.amount, deal.currency)),
        deal.close ? h('span', { class: 'muted' }, ` · closes ${formatDay(deal.close)}`) : null));
    const stages = pipeline().includes(deal.stage) ? pipeline() : [...pipeline(), deal.stage];
    if ([...stageSelect.options].map((o) => o.value).join() !== stages.join()) {
      replace(stageSelect, stages.map((s) => h('option', { value: s }, capitalize(s))));
      delete stageSelect.dataset.saved;
    }
    syncInput(stageSelect, deal.stage);
  }

  return {
    element: section('Deals', 'deals', [list, empty], 'Add deal', form),
    update(account) {
      const deals = account.deals ?? [];
      // Offer the pipeline's stages (they can change with the workspace) and a sensible currency.
      if ([...stage.options].map((o) => o.value).join() !== pipeline().join()) {
        replace(stage, pipeline().map((s) => h('option', { value: s }, capitalize(s))));
      }
      if (deals.length && !currency.dataset.touched) currency.value = deals[deals.length - 1].currency;
      reconcile(list, deals, (d) => d.id, createRow, updateRow);
      empty.hidden = deals.length > 0;
    },
  };
}

// ---- Tasks ------------------------------------------------------------------------------

export function tasksPart({ accountId, context, run }) {
  const list = h('ul', { class: 'item-list' });
  const empty = h('p', { class: 'muted empty-line' }, 'No tasks yet.');
  const members = (context.me?.workspace?.members ?? []).map((m) => m.user);

  const title = h('input', { required: true, autocomplete: 'off' });
  const assignees = h('datalist', { id: 'task-assignees' }, members.map((value) => h('option', { value })));
  const assignee = h('input', { list: assignees.id, autocomplete: 'off', value: context.me?.user ?? '' });
  const due = h('input', { type: 'date' });
  const add = h('button', { type: 'submit', class: 'button primary' }, 'Add task');
  const form = h('form', { class: 'form-grid' },
    h('div', { class: 'span-2' }, field('Task', title)), field('Assignee', assignee), field('Due', due),
    assignees, h('div', { class: 'form-actions span-2' }, add));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const task = { title: title.value.trim() };
    if (!task.title) return notify('A task needs a title.', 'error');
    if (assignee.value.trim()) task.assignee = assignee.value.trim().replace(/^@/, '');
    if (due.value) task.due = due.value;
    if (await run(() => api.addTask(accountId, task), add)) {
      title.value = due.value = '';
      title.focus();
    }
  });

  function createRow(task) {
    const box = h('input', { type: 'checkbox', class: 'write-only', id: `task-done-${task.id}` });
    box.addEventListener('click', (event) => {
      // The box is hidden for a viewer, but its label would still tick it.
      if (context.readOnly) event.preventDefault();
    });
    box.addEventListener('change', () => {
      if (!box.checked) return;
      run(() => api.completeTask(accountId, task.id));
    });
    const row = h('li', { class: 'item task', dataset: { taskId: task.id } },
      h('div', { class: 'item-main' }, box, h('label', { for: box.id, class: 'task-text' })));
    row.box = box;
    return row;
  }

  function updateRow(row, task) {
    row.classList.toggle('is-done', task.done);
    row.box.checked = task.done;
    if (task.done && document.activeElement === row.box) {
      // About to be disabled: keep keyboard focus in the section rather than lose it.
      row.closest('section')?.querySelector('summary')?.focus();
    }
    row.box.disabled = task.done; // the API can mark a task done, not undo it
    const overdue = !task.done && task.due && isPast(task.due);
    replace(row.querySelector('.task-text'),
      h('span', { class: 'item-title' }, task.title),
      h('span', { class: 'item-sub' },
        task.assignee ? `@${task.assignee}` : h('span', { class: 'muted' }, 'Unassigned'),
        task.due ? h('span', { class: overdue ? 'overdue' : 'muted' }, ` · ${overdue ? 'overdue, ' : ''}due ${formatDay(task.due)}`) : null,
        task.done ? h('span', { class: 'muted' }, ' · done') : null));
  }

  return {
    element: section('Tasks', 'tasks', [list, empty], 'Add task', form),
    update(account) {
      // Open tasks first, soonest due first; then the done ones.
      const tasks = (account.tasks ?? []).slice().sort((a, b) =>
        Number(a.done) - Number(b.done) || (a.due ?? '9999').localeCompare(b.due ?? '9999'));
      reconcile(list, tasks, (t) => t.id, createRow, updateRow);
      empty.hidden = tasks.length > 0;
    },
  };
}

/** A card with a heading, its list, and an "Add …" form folded under a disclosure. */
function section(titleText, slug, body, addLabel, form) {
  return h('section', { class: 'card', 'aria-labelledby': `${slug}-title` },
    h('h2', { id: `${slug}-title` }, titleText),
    body,
    h('details', { class: 'add-item write-only' }, h('summary', {}, addLabel), form));
}
