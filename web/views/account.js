// `#/accounts/ID`: one account, 360°: header, conflicts, timeline, details, contacts, deals,
// tasks, and the history of who changed what.
//
// The page is built once per visit. Each part is an object `{ element, update(account) }`:
// a refresh (after a write here, or a `changed` event naming this account) fetches the account
// and calls every `update`, which changes only what shows data. Forms are never rebuilt, so
// text someone is typing survives any number of live updates.

import * as api from '../api.js';
import { coalesce, h, replace } from '../dom.js';
import { capitalize, scoreBadge, stageBadge } from '../format.js';
import { notifyError } from '../toasts.js';
import { detailsPart } from './account-details.js';
import { contactsPart, dealsPart, tasksPart } from './account-items.js';
import { historyPart } from './account-history.js';
import { timelinePart } from './account-timeline.js';

export function mount(root, [accountId], context) {
  let controller = null;
  let loadedOnce = false;
  let mounted = true; // a write may finish after the user has left the page

  const page = h('article', { class: 'page account-page', 'aria-busy': 'true' });
  root.append(page);

  /**
   * Runs a write for one of the parts: `control` (a button or a form) is disabled meanwhile,
   * a failure is shown, and the account is fetched again afterwards. Resolves to success.
   */
  async function run(work, control) {
    if (control) control.disabled = true;
    try {
      await work();
      return true;
    } catch (error) {
      notifyError(error);
      return false;
    } finally {
      if (control) control.disabled = false;
      load();
    }
  }

  const shared = { accountId, context, run };
  const head = headPart(shared);
  const conflicts = conflictsPart(shared);
  const parts = [head, conflicts, timelinePart(shared), detailsPart(shared),
    contactsPart(shared), dealsPart(shared), tasksPart(shared), historyPart(shared)];
  const [, , timeline, details, contacts, deals, tasks, history] = parts;

  page.append(
    h('a', { class: 'back-link', href: '#/accounts' }, '← All accounts'),
    head.element,
    conflicts.element,
    h('div', { class: 'account-grid' },
      h('div', { class: 'account-main' }, timeline.element, history.element),
      h('div', { class: 'account-side' }, details.element, contacts.element, deals.element, tasks.element)));

  async function load() {
    if (!mounted) return;
    controller?.abort();
    controller = new AbortController();
    try {
      const account = await api.getAccount(accountId, controller.signal);
      loadedOnce = true;
      page.removeAttribute('aria-busy');
      context.setTitle(account.name);
      for (const part of parts) part.update(account);
    } catch (error) {
      if (error.name === 'AbortError') return;
      if (error.status === 404 && !loadedOnce) showMissing(error.message);
      else notifyError(error);
    }
  }

  function showMissing(message) {
    context.setTitle('Account not found');
    page.removeAttribute('aria-busy');
    replace(page,
      h('a', { class: 'back-link', href: '#/accounts' }, '← All accounts'),
      h('div', { class: 'card empty' },
        h('h1', { id: 'account-name' }, 'Account not found'),
        h('p', { class: 'muted' }, message || 'There is no account with this id in your replica.'),
        h('p', { class: 'muted' }, 'If a colleague just created it, it will appear after the next sync.')));
  }

  load();
  const refresh = coalesce(load, 250);

  return {
    changed(detail) {
      if (detail.all || detail.workspace || detail.accounts.includes(accountId)) refresh();
    },
    unmount() {
      mounted = false;
      controller?.abort();
      refresh.cancel();
    },
  };
}

/**
 * The heading (`#account-name`), one line of key facts, the followers (`#account-followers`) and
 * the Follow / Unfollow button (`#follow-button`, `data-following`): a follower is alerted by
 * every new entry on the account that someone else writes.
 */
function headPart({ accountId, context, run }) {
  const name = h('h1', { id: 'account-name' }, 'Loading…');
  const meta = h('p', { class: 'account-meta' });
  const followers = h('p', { class: 'muted account-followers', id: 'account-followers' });
  let following = false;
  const follow = h('button', {
    type: 'button', class: 'button write-only', id: 'follow-button', dataset: { following: 'false' },
    on: {
      click: () => run(() => (following ? api.unfollowAccount(accountId) : api.followAccount(accountId)), follow),
    },
  }, 'Follow');
  return {
    element: h('header', { class: 'account-head' },
      h('div', { class: 'account-title' }, name, follow), meta, followers),
    update(account) {
      const names = account.followers ?? [];
      following = names.includes(context.me?.user);
      follow.textContent = following ? 'Unfollow' : 'Follow';
      follow.dataset.following = String(following);
      follow.title = following ? 'Stop being alerted by new entries on this account'
        : 'Be alerted by every new entry on this account';
      followers.textContent = names.length ? `Followed by ${names.join(', ')}` : 'No followers';
      name.textContent = account.name;
      const facts = [];
      if (account.domain) facts.push(externalLink(account.domain));
      if (account.stage) facts.push(stageBadge(account.stage));
      if (account.tier) facts.push(h('span', {}, h('span', { class: 'muted' }, 'Tier '), account.tier));
      if (account.owner) facts.push(h('span', {}, h('span', { class: 'muted' }, 'Owner '), account.owner));
      if (account.industry) facts.push(h('span', {}, account.industry));
      for (const tag of account.tags ?? []) facts.push(h('span', { class: 'badge tag' }, tag));
      if (account.value) facts.push(h('span', { id: 'account-score' }, h('span', { class: 'muted' }, 'Value '), scoreBadge(account.value)));
      replace(meta, facts);
    },
  };
}

/** A link to a domain or website typed by a person; only http(s) ever becomes a link. */
function externalLink(address) {
  const text = String(address);
  const href = /^https?:\/\//i.test(text) ? text : `https://${text}`;
  return h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, text);
}

/**
 * Fields edited concurrently on two replicas: every replica shows `value`, the `others` lost.
 * Picking a value writes it, which settles the conflict everywhere. A viewer cannot pick: they
 * see the same values as text instead of buttons.
 */
function conflictsPart({ accountId, run }) {
  const list = h('ul', { class: 'conflict-list' });
  const element = h('section', { class: 'conflicts', 'aria-labelledby': 'conflicts-title', hidden: true },
    h('h2', { id: 'conflicts-title' }, 'Conflicting edits'),
    h('p', {}, 'These fields were changed in two places at once. Everyone sees the first value until someone picks one.'),
    list);
  let shown = '';

  return {
    element,
    update(account) {
      const conflicts = account.conflicts ?? [];
      const key = JSON.stringify(conflicts);
      if (key === shown) return; // unchanged: keep the buttons (and any focus on them)
      shown = key;
      element.hidden = conflicts.length === 0;
      replace(list, conflicts.map((conflict) => {
        const choices = [conflict.value, ...(conflict.others ?? [])];
        return h('li', { class: 'conflict', dataset: { field: conflict.field } },
          h('span', { class: 'conflict-field' }, fieldLabel(conflict.field, account)),
          h('p', { class: 'conflict-values viewer-only' }, choices.map((value, index) => [
            index ? ' or ' : '', h('q', {}, displayValue(value)),
            index === 0 ? h('span', { class: 'muted' }, ' (shown now)') : null])),
          h('div', { class: 'conflict-choices write-only' }, choices.map((value, index) => {
            const button = h('button', {
              type: 'button', class: index === 0 ? 'button' : 'button subtle-outline',
              on: { click: () => run(() => api.setFields(accountId, { [conflict.field]: asFieldText(value) }), button) },
            }, 'Keep ', h('q', {}, displayValue(value)), index === 0 ? h('span', { class: 'muted' }, ' (shown now)') : null);
            return button;
          })));
      }));
    },
  };
}

/** "phone" → "Phone", "custom.region" → "region", "contacts.ID.phone" → "Phone of Hank". */
function fieldLabel(field, account) {
  const contact = /^contacts\.([^.]+)\.(.+)$/.exec(field);
  if (contact) {
    const people = [...(account.contacts ?? []), ...(account.merged_contacts ?? [])];
    const person = people.find((c) => c.id === contact[1]);
    return `${capitalize(contact[2])} of ${person?.name ?? 'a contact'}`;
  }
  if (field.startsWith('custom.')) return field.slice('custom.'.length);
  return capitalize(field);
}

function displayValue(value) {
  if (value == null || value === '') return '(empty)';
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** Fields are written as text: a list becomes "a,b", nothing becomes "" (clears). */
function asFieldText(value) {
  if (value == null) return '';
  return Array.isArray(value) ? value.join(',') : String(value);
}
