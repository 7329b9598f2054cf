// The account's merged timeline: the form that adds a note or logs an interaction (with
// optional alerts and a follow-up task for me), team and kind filters, and the entries, newest
// first.

import * as api from '../api.js';
import { field, h, replace, select } from '../dom.js';
import { ENTRY_KINDS, TEAMS, capitalize, parseUsers, plural, teamBadge, timeElement } from '../format.js';
import { notify } from '../toasts.js';

const PAGE = 100; // entries shown at first; "Show older" adds as many again

const SUBMIT_LABEL = {
  note: 'Add note', call: 'Log call', email: 'Log email', meeting: 'Log meeting',
  ticket: 'Log ticket', campaign: 'Log campaign',
};

export function timelinePart({ accountId, context, run }) {
  const filter = { team: '', kind: '', limit: PAGE };
  let entries = [];
  let shown = '';

  const compose = composeForm(accountId, context, run);
  const team = select([['', 'All teams'], ...TEAMS.map((t) => [t, capitalize(t)])], { id: 'timeline-team' });
  const kind = select([['', 'All kinds'], ...ENTRY_KINDS.map((k) => [k, capitalize(k)])], { id: 'timeline-kind' });
  const summary = h('p', { class: 'timeline-summary muted', 'aria-live': 'polite' });
  const list = h('ol', { class: 'timeline', 'aria-labelledby': 'timeline-title' });
  const more = h('button', { type: 'button', class: 'button subtle', hidden: true }, 'Show older entries');

  const onFilter = () => {
    Object.assign(filter, { team: team.value, kind: kind.value, limit: PAGE });
    render();
  };
  team.addEventListener('change', onFilter);
  kind.addEventListener('change', onFilter);
  more.addEventListener('click', () => {
    filter.limit += PAGE;
    render();
  });

  function render() {
    const matching = entries.filter((entry) =>
      (!filter.team || entry.team === filter.team) && (!filter.kind || entry.kind === filter.kind));
    // The API gives oldest first; people read newest first.
    const newestFirst = matching.slice().reverse();
    const key = JSON.stringify([filter, newestFirst.length, newestFirst[0]?.id, entries.length]);
    if (key === shown) return;
    shown = key;
    const visible = newestFirst.slice(0, filter.limit);
    replace(list, visible.length ? visible.map(entryItem) : h('li', { class: 'empty muted' },
      entries.length ? 'No entries match these filters.'
        : ['Nothing here yet.', h('span', { class: 'write-only' }, ' Add the first note above.')]));
    summary.textContent = matching.length === entries.length
      ? plural(entries.length, 'entry', 'entries')
      : `${matching.length.toLocaleString()} of ${plural(entries.length, 'entry', 'entries')}`;
    more.hidden = visible.length >= newestFirst.length;
  }

  return {
    element: h('section', { class: 'card timeline-card', 'aria-labelledby': 'timeline-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'timeline-title' }, 'Timeline'), summary),
      compose,
      h('div', { class: 'timeline-filters' }, field('Team', team), field('Kind', kind)),
      list, more),
    update(account) {
      entries = account.timeline ?? [];
      render();
    },
  };
}

/** One timeline entry: team badge, kind, author, time, text, alert targets. */
function entryItem(entry) {
  return h('li', { class: 'entry', dataset: { entryId: entry.id, team: entry.team, kind: entry.kind } },
    h('div', { class: 'entry-head' },
      teamBadge(entry.team),
      h('span', { class: 'entry-kind' }, capitalize(entry.kind)),
      h('span', { class: 'entry-author' }, entry.author),
      timeElement(entry.at)),
    h('p', { class: 'entry-text' }, entry.text),
    entry.alert?.length ? h('p', { class: 'entry-alert' },
      h('span', { class: 'alert-mark', 'aria-hidden': 'true' }, '!'),
      h('span', {}, 'Alerted ', entry.alert.map((target, index) => [index ? ', ' : '', h('strong', {}, target)]))) : null);
}

/**
 * The note form; its element ids are stable hooks for tests and for `label for`. It is
 * `write-only`: a viewer, whose notes the node would refuse, does not see it (style.css).
 */
function composeForm(accountId, context, run) {
  const kind = select(ENTRY_KINDS.map((k) => [k, capitalize(k)]), { id: 'entry-kind', name: 'kind' });
  const text = h('textarea', {
    id: 'entry-text', name: 'text', rows: 3, required: true,
    placeholder: 'What happened? (Ctrl+Enter to save)',
  });
  const teams = TEAMS.map((team) => h('label', { class: `check team-check team-${team}` },
    h('input', { type: 'checkbox', name: 'alert-team', value: team }), ` ${capitalize(team)}`));
  const members = (context.me?.workspace?.members ?? []).map((m) => `@${m.user}`).join(' ');
  const users = h('input', {
    id: 'entry-alert-users', name: 'alert-users', type: 'text', autocomplete: 'off', spellcheck: 'false',
    placeholder: '@bo @cy',
  });
  const followUp = h('input', {
    id: 'entry-follow-up', name: 'follow-up', type: 'text', autocomplete: 'off', spellcheck: 'false',
    placeholder: '3d or 2026-12-24',
  });
  const submit = h('button', { id: 'entry-submit', type: 'submit', class: 'button primary' }, SUBMIT_LABEL.note);

  kind.addEventListener('change', () => {
    submit.textContent = SUBMIT_LABEL[kind.value] ?? 'Add';
  });

  const form = h('form', { class: 'compose write-only', 'aria-label': 'Add to the timeline' },
    h('div', { class: 'compose-top' },
      field('Kind', kind),
      h('div', { class: 'field grow' }, h('label', { for: 'entry-text' }, 'Text'), text)),
    h('fieldset', { class: 'alert-targets' },
      h('legend', {}, 'Alert (optional)'),
      h('div', { class: 'checks' }, teams),
      field('People', users, members ? `Space or comma separated, e.g. ${members}` : 'Space or comma separated, e.g. @bo @cy')),
    h('div', { class: 'form-actions' },
      field('Follow up (optional)', followUp, 'A task for me, due in N days (3d) or on a date'), submit));

  text.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = text.value.trim();
    if (!body) {
      notify('Write something first.', 'error');
      text.focus();
      return;
    }
    const alert = [
      ...form.querySelectorAll('input[name=alert-team]:checked'),
    ].map((box) => box.value).concat(parseUsers(users.value));
    const entry = { kind: kind.value, text: body, alert };
    if (followUp.value.trim()) entry.follow_up = followUp.value.trim();
    let created = null;
    const saved = await run(async () => { created = await api.addEntry(accountId, entry); }, submit);
    if (saved) {
      if (created?.follow_up) notify(`Follow-up task due ${created.follow_up.due}.`, 'success');
      text.value = '';
      users.value = '';
      followUp.value = '';
      for (const box of form.querySelectorAll('input[name=alert-team]')) box.checked = false;
      if (alert.length) notify(`Saved and alerted ${alert.join(', ')}.`, 'success');
      text.focus();
    }
  });

  return form;
}
