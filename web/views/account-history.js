// The account's history: who changed what and when, from which value, newest first. It is read
// from the account document's own changes (`GET /api/accounts/ID/history`), so nothing changes
// an account without showing here. The part refetches whenever the account page refreshes, which
// it does on every `changed` event naming the account: a colleague's edit appears live.

import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { capitalize, plural, timeElement } from '../format.js';
import { notifyError } from '../toasts.js';

const PAGE = 50; // changes shown at first; "Show older" adds as many again

export function historyPart({ accountId }) {
  let limit = PAGE;
  let controller = null;
  let shown = '';

  const summary = h('p', { class: 'history-summary muted', 'aria-live': 'polite' });
  const list = h('ol', { id: 'history', class: 'history', 'aria-labelledby': 'history-title' });
  const more = h('button', { type: 'button', class: 'button subtle', hidden: true }, 'Show older changes');
  more.addEventListener('click', () => {
    limit += PAGE;
    load();
  });

  async function load() {
    controller?.abort();
    controller = new AbortController();
    try {
      render(await api.getHistory(accountId, limit, controller.signal));
    } catch (error) {
      if (error.name !== 'AbortError') notifyError(error);
    }
  }

  function render(history) {
    const changes = history.changes.slice().reverse(); // the API gives oldest first
    const key = JSON.stringify([history.total, changes.length, changes[0]?.hash]);
    if (key === shown) return;
    shown = key;
    replace(list, changes.length ? changes.map(changeItem) : h('li', { class: 'empty muted' }, 'No changes yet.'));
    summary.textContent = changes.length < history.total
      ? `Latest ${changes.length.toLocaleString()} of ${plural(history.total, 'change')}`
      : plural(history.total, 'change');
    more.hidden = changes.length >= history.total;
  }

  return {
    element: h('section', { class: 'card history-card', 'aria-labelledby': 'history-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'history-title' }, 'History'), summary),
      list, more),
    update() {
      load();
    },
  };
}

/** One change: who and when, then one line per part it changed. */
function changeItem(change) {
  const author = change.author ?? 'Unknown author';
  return h('li', { class: 'history-change', dataset: { hash: change.hash, author: change.author ?? '' } },
    h('div', { class: 'history-head' },
      h('span', { class: change.author ? 'history-author' : 'history-author muted' }, author),
      change.at ? timeElement(change.at) : h('span', { class: 'muted' }, 'no time')),
    h('ul', { class: 'history-edits' }, change.edits.length
      ? change.edits.map((edit) => h('li', { class: 'history-edit', dataset: { kind: edit.kind } }, describe(edit)))
      : h('li', { class: 'history-edit muted' }, 'No value changed')));
}

/** What an edit did, as the nodes of one line. */
function describe(edit) {
  switch (edit.kind) {
    case 'created': return ['Created the account ', strong(edit.name)];
    case 'field': return fromTo(fieldLabel(edit.field), edit.from, edit.to);
    case 'tag_added': return ['Tag added: ', strong(edit.tag)];
    case 'tag_removed': return ['Tag removed: ', strong(edit.tag)];
    case 'contact_added': return ['Contact added: ', strong(edit.name ?? edit.contact)];
    case 'contact_changed':
      if (edit.field === 'merged_into' && edit.to) return ['Contact ', strong(edit.name ?? 'a contact'), ' merged into ', strong(edit.to)];
      return fromTo(`${capitalize(edit.field)} of ${edit.name ?? 'a contact'}`, edit.from, edit.to);
    case 'deal_added': return ['Deal added: ', strong(edit.title ?? edit.deal), muted(details([edit.amount, edit.stage]))];
    case 'deal_changed': return fromTo(`${capitalize(edit.field)} of deal ${edit.title ?? edit.deal}`, edit.from, edit.to);
    case 'task_added': return ['Task added: ', strong(edit.title ?? edit.task), muted(details([edit.assignee && `@${edit.assignee}`, edit.due && `due ${edit.due}`]))];
    case 'task_done': return [edit.done ? 'Task done: ' : 'Task reopened: ', strong(edit.title ?? edit.task)];
    case 'task_changed': return fromTo(`${capitalize(edit.field)} of task ${edit.title ?? edit.task}`, edit.from, edit.to);
    case 'entry_added': return [`${capitalize(edit.entry_kind ?? 'entry')} added`, edit.team ? ` (${edit.team})` : '', ': ', h('q', {}, edit.excerpt)];
    case 'entry_edited': return [`Entry edited (${edit.field}): `, h('q', {}, edit.excerpt)];
    case 'removed': return [`Removed from ${edit.section}: `, strong(edit.label ?? edit.item)];
    case 'acknowledged': return [strong(edit.user), ' acknowledged an alert'];
    case 'followed': return [strong(edit.user), edit.following ? ' followed the account' : ' stopped following the account'];
    case 'other': return fromTo(edit.path, edit.from, edit.to);
    default: return [edit.kind];
  }
}

/** "Stage: lead → prospect", the old value struck through. */
function fromTo(label, from, to) {
  return [h('span', { class: 'history-field' }, label), ': ',
    from == null ? muted('(empty)') : h('del', {}, from), ' → ',
    to == null ? muted('(empty)') : h('ins', {}, to)];
}

function fieldLabel(field) {
  return field.startsWith('custom.') ? field.slice('custom.'.length) : capitalize(field);
}

function details(parts) {
  const given = parts.filter(Boolean);
  return given.length ? ` (${given.join(', ')})` : '';
}

const strong = (text) => h('strong', {}, text ?? '');
const muted = (text) => (text ? h('span', { class: 'muted' }, text) : null);
