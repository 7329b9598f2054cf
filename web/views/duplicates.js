// `#/duplicates`: accounts and contacts that look like the same one, each pair with why, and a
// "Keep …" button on each side (`write-only`). For accounts, the other account's contacts,
// deals, tasks and timeline move into the one kept, and its page then shows that one; for two
// contacts of one account, the kept contact gets the fields it lacks and the other shows under
// it. Contacts of two accounts are not merged: the accounts are, first.

import * as api from '../api.js';
import { coalesce, h, replace } from '../dom.js';
import { notify, notifyError } from '../toasts.js';

export function mount(root, _params, context) {
  context.setTitle('Duplicates');
  let controller = null;
  let busy = false;

  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  const accounts = h('ul', { class: 'duplicate-list', id: 'duplicate-accounts', 'aria-labelledby': 'duplicate-accounts-title' });
  const contacts = h('ul', { class: 'duplicate-list', id: 'duplicate-contacts', 'aria-labelledby': 'duplicate-contacts-title' });
  root.append(h('section', { class: 'page duplicates-page' },
    h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Duplicates'), summary)),
    h('h2', { id: 'duplicate-accounts-title' }, 'Accounts'), accounts,
    h('h2', { id: 'duplicate-contacts-title' }, 'Contacts'), contacts));

  async function load() {
    controller?.abort();
    controller = new AbortController();
    try {
      render(await api.getDuplicates(controller.signal));
    } catch (error) {
      if (error.name !== 'AbortError') notifyError(error);
    }
  }

  function render(found) {
    const count = found.accounts.length + found.contacts.length;
    summary.textContent = count === 0 ? 'No likely duplicates.'
      : `${count.toLocaleString()} likely ${count === 1 ? 'duplicate' : 'duplicates'}.`;
    replace(accounts, found.accounts.length ? found.accounts.map(accountPair) : empty('No accounts look alike.'));
    replace(contacts, found.contacts.length ? found.contacts.map(contactPair) : empty('No contacts look alike.'));
  }

  function empty(text) {
    return h('li', { class: 'card empty' }, h('p', {}, text));
  }

  function accountPair(pair) {
    const side = (kept, other) => h('div', { class: 'duplicate-side' },
      h('a', { href: `#/accounts/${encodeURIComponent(kept.id)}` }, kept.name),
      h('span', { class: 'muted' }, kept.domain ?? ''),
      h('button', {
        type: 'button', class: 'button write-only merge-button', dataset: { keep: kept.id, other: other.id },
        'aria-label': `Merge ${other.name} into ${kept.name}`,
        on: { click: (event) => merge(other, kept, event.currentTarget) },
      }, `Keep ${kept.name}`));
    return h('li', { class: 'card duplicate-pair', dataset: { a: pair.a.id, b: pair.b.id } },
      h('div', { class: 'duplicate-sides' }, side(pair.a, pair.b), side(pair.b, pair.a)),
      h('p', { class: 'muted duplicate-reasons' }, reasons(pair.reasons)));
  }

  function contactPair(pair) {
    const together = pair.a.account === pair.b.account;
    const side = (kept, other) => h('div', { class: 'duplicate-side' },
      h('a', { href: `#/accounts/${encodeURIComponent(kept.account)}` }, kept.name),
      h('span', { class: 'muted' }, kept.email ?? ''),
      together ? h('button', {
        type: 'button', class: 'button write-only merge-button', dataset: { keep: kept.id, other: other.id },
        'aria-label': `Merge contact ${other.name} into ${kept.name}`,
        on: { click: (event) => mergeContact(other, kept, event.currentTarget) },
      }, `Keep ${kept.name}`) : null);
    return h('li', { class: 'card duplicate-pair', dataset: { a: pair.a.id, b: pair.b.id } },
      h('div', { class: 'duplicate-sides' }, side(pair.a, pair.b), side(pair.b, pair.a)),
      h('p', { class: 'muted duplicate-reasons' }, reasons(pair.reasons),
        together ? null : ' · In different accounts: merge the accounts first.'));
  }

  function merge(other, kept, button) {
    return merging(button, async () => {
      const result = await api.mergeAccount(other.id, kept.id);
      const copied = result?.copied ?? 0;
      return `Merged ${other.name} into ${kept.name} (${copied.toLocaleString()} ${copied === 1 ? 'item' : 'items'} moved).`;
    });
  }

  function mergeContact(other, kept, button) {
    return merging(button, async () => {
      const result = await api.mergeContact(other.id, kept.id);
      const filled = result?.filled ?? [];
      return `Merged contact ${other.name} into ${kept.name}${filled.length ? ` (${filled.join(', ')} filled)` : ''}.`;
    });
  }

  async function merging(button, work) {
    if (busy) return;
    busy = true;
    button.disabled = true;
    try {
      notify(await work(), 'success');
    } catch (error) {
      notifyError(error);
    }
    busy = false;
    load();
  }

  load();
  const refresh = coalesce(load, 300);
  return {
    changed() {
      refresh();
    },
    unmount() {
      controller?.abort();
      refresh.cancel();
    },
  };
}

function reasons(list) {
  return list.map((reason) => {
    switch (reason.kind) {
      case 'same_domain': return `Same domain ${reason.domain}`;
      case 'same_name': return `Same name “${reason.name}”`;
      case 'similar_name': return `Similar names (${Math.round(reason.similarity * 100)}%)`;
      case 'same_email': return `Same email ${reason.email}`;
      default: return reason.kind;
    }
  }).join(' · ');
}
