// `#/accounts`: the account list with search-as-you-type, filters, paging, keyboard
// navigation, and the "New account" form. It shows a team's view (the user's own team at
// first): the columns and filters that team works from (TEAM_VIEWS; docs/api.md, "Team views"),
// then each account's value score (sortable), and the workspace's saved segments.
//
// Only one page (50 rows) is ever rendered; the node does the searching and counting, so ten
// thousand accounts cost the same as ten.

import * as api from '../api.js';
import { coalesce, debounce, field, h, reconcile, replace, select } from '../dom.js';
import { ACCOUNT_STAGES, TEAMS, capitalize, formatDay, formatMoney, plural, scoreBadge, stageBadge } from '../format.js';
import { notify, notifyError } from '../toasts.js';
import { newAccountPanel } from './new-account.js';

const LIMIT = 50;
const SEARCH_DELAY_MS = 150;

// Kept across visits so that going back to the list shows the same search and page.
// `team` '' is the user's own team.
const filters = { q: '', stage: '', tier: '', owner: '', open_deals: false, open_ticket: false, team: '', segment: '', sort: '', offset: 0 };

const none = () => h('span', { class: 'muted' }, '—');
const day = (iso) => (iso ? h('time', { datetime: iso }, formatDay(iso.slice(0, 10))) : none());
const money = (count) => (count?.totals?.length
  ? count.totals.map((total) => formatMoney(total.amount, total.currency)).join(', ') : none());

/** Per team: its columns after the name ([header, cell, class]) and which filters it offers. */
const TEAM_VIEWS = {
  sales: {
    columns: [
      ['Owner', (a) => a.owner || none()],
      ['Stage', (a) => stageBadge(a.stage) ?? none()],
      ['Open deals', (a) => String(a.open_deals?.deals ?? 0), 'num'],
      ['Open value', (a) => money(a.open_deals), 'num'],
    ],
    filters: ['stage', 'owner', 'open_deals'],
  },
  marketing: {
    columns: [
      ['Stage', (a) => stageBadge(a.stage) ?? none()],
      ['Tier', (a) => a.tier || none()],
      ['Contacts', (a) => String(a.contacts ?? 0), 'num'],
      ['Last touch', (a) => day(a.last_touch)],
    ],
    filters: ['stage', 'tier'],
  },
  support: {
    columns: [
      ['Open ticket since', (a) => day(a.open_ticket)],
      ['Last support touch', (a) => day(a.last_support_touch)],
      ['Contacts', (a) => String(a.contacts ?? 0), 'num'],
      ['Owner', (a) => a.owner || none()],
    ],
    filters: ['owner', 'open_ticket'],
  },
};

export function mount(root, _params, context) {
  context.setTitle('Accounts');
  const members = (context.me?.workspace?.members ?? []).map((member) => member.user);
  const ownTeam = TEAMS.includes(context.me?.team) ? context.me.team : 'sales';
  const team = () => filters.team || ownTeam;

  let accounts = []; // the page on screen
  let selectedId = null; // the highlighted row, kept across refreshes
  let total = 0;
  let controller = null;
  const shownRows = new WeakMap(); // row element -> the account it shows, as JSON

  // ---- Controls (built once; refreshes never touch them) ----

  const search = h('input', {
    id: 'search', type: 'search', value: filters.q, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Search names, domains, contacts, notes…', 'aria-keyshortcuts': '/',
    'aria-controls': 'account-rows',
  });
  const stage = select([['', 'Any stage'], ...ACCOUNT_STAGES.map((s) => [s, capitalize(s)])], { id: 'filter-stage', value: filters.stage });
  const tier = select([['', 'Any tier']], { value: filters.tier });
  const owner = select([['', 'Anyone'], ...members], { value: filters.owner });
  if (filters.owner && !members.includes(filters.owner)) owner.append(h('option', { value: filters.owner }, filters.owner));
  owner.value = filters.owner;
  const openDeals = h('input', { type: 'checkbox', id: 'filter-open-deals', checked: filters.open_deals });
  const openTicket = h('input', { type: 'checkbox', id: 'filter-open-ticket', checked: filters.open_ticket });
  const clear = h('button', { type: 'button', class: 'button subtle', on: { click: clearFilters } }, 'Clear');
  const teamView = select(TEAMS.map((t) => [t, `${capitalize(t)}${t === ownTeam ? ' (my team)' : ''}`]), { id: 'team-view', value: team() });
  teamView.value = team();
  const segment = select([['', 'All accounts']], { id: 'segment', value: filters.segment });
  const segmentName = h('input', { id: 'segment-name', type: 'text', autocomplete: 'off', placeholder: 'Name these filters' });
  const saveSegment = h('button', { id: 'save-segment', type: 'submit', class: 'button' }, 'Save as segment');
  // `write-only`: a viewer cannot write to the workspace.
  const saveForm = h('form', { class: 'segment-save write-only', on: { submit: onSaveSegment } },
    h('label', { for: 'segment-name', class: 'visually-hidden' }, 'Segment name'), segmentName, saveSegment);
  // Deleting a segment asks first, in place: it is gone for the whole workspace.
  const deleteSegment = h('button', {
    id: 'delete-segment', type: 'button', class: 'button subtle write-only', hidden: !filters.segment,
    'aria-controls': 'segment-confirm', 'aria-expanded': 'false', on: { click: askDeleteSegment },
  }, 'Delete segment');
  const confirmText = h('p', { id: 'segment-confirm-text' });
  const confirmDelete = h('button', { id: 'confirm-delete-segment', type: 'button', class: 'button danger', on: { click: onDeleteSegment } }, 'Delete');
  const cancelDelete = h('button', { id: 'cancel-delete-segment', type: 'button', class: 'button subtle', on: { click: () => closeConfirm(true) } }, 'Cancel');
  const confirmPanel = h('div', {
    id: 'segment-confirm', class: 'segment-confirm write-only', role: 'group', 'aria-labelledby': confirmText.id, hidden: true,
    on: { keydown: (event) => { if (event.key === 'Escape') closeConfirm(true); } },
  }, confirmText, h('div', { class: 'segment-confirm-actions' }, confirmDelete, cancelDelete));
  const sortScore = h('button', {
    id: 'sort-score', type: 'button', class: 'sort-button', on: { click: toggleScoreSort },
    title: 'Value score, 0–100: recent and frequent timeline entries, deal value ranked per currency',
  }, 'Score');
  const scoreHead = h('th', { scope: 'col', class: 'num' }, sortScore);

  const filterFields = {
    stage: field('Stage', stage),
    tier: field('Tier', tier),
    owner: field('Owner', owner),
    open_deals: h('div', { class: 'field field-button' }, h('label', { class: 'check', for: openDeals.id }, openDeals, ' Open deals only')),
    open_ticket: h('div', { class: 'field field-button' }, h('label', { class: 'check', for: openTicket.id }, openTicket, ' Open ticket only')),
  };

  const thead = h('thead', {});
  const tbody = h('tbody', { id: 'account-rows' });
  const table = h('table', { class: 'table accounts-table' },
    h('caption', { class: 'visually-hidden' }, 'Accounts. Use the arrow keys to move, Enter to open.'),
    thead, tbody);

  const prev = h('button', { type: 'button', class: 'button', on: { click: () => turnPage(-1) } }, '← Previous');
  const next = h('button', { type: 'button', class: 'button', on: { click: () => turnPage(1) } }, 'Next →');
  const range = h('p', { class: 'pager-range', 'aria-live': 'polite' });
  const count = h('span', { class: 'page-count' });

  const panel = newAccountPanel(members, () => toggleNew(false));
  // `write-only`: hidden for a viewer (style.css), who cannot create accounts.
  const newButton = h('button', {
    type: 'button', class: 'button primary write-only', 'aria-expanded': 'false', 'aria-controls': panel.id,
    on: { click: () => toggleNew(panel.hidden) },
  }, 'New account');

  const page = h('section', { class: 'page accounts-page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Accounts', ' ', count),
      h('div', { class: 'head-actions' },
        h('label', { class: 'team-switch', for: teamView.id }, 'View for', teamView), newButton)),
    panel,
    h('div', { class: 'toolbar', role: 'search' },
      h('div', { class: 'field search-field' },
        h('label', { for: 'search', class: 'visually-hidden' }, 'Search accounts'),
        h('span', { class: 'search-icon', 'aria-hidden': 'true' }), search,
        h('kbd', { class: 'search-key', 'aria-hidden': 'true', title: 'Press / to search' }, '/')),
      Object.values(filterFields),
      h('div', { class: 'field field-button' }, clear)),
    h('div', { class: 'segment-bar' }, field('Segment', segment), deleteSegment, saveForm),
    confirmPanel,
    h('div', { class: 'table-wrap' }, table),
    h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, range, next));
  root.append(page);

  // ---- Loading and rendering ----

  async function load() {
    controller?.abort();
    controller = new AbortController();
    tbody.setAttribute('aria-busy', 'true');
    const offered = TEAM_VIEWS[team()].filters;
    const params = { q: filters.q, offset: filters.offset, limit: LIMIT, team: team() };
    for (const name of offered) if (filters[name]) params[name] = filters[name];
    if (filters.segment) params.segment = filters.segment;
    if (filters.sort) params.sort = filters.sort;
    try {
      const result = await api.listAccounts(params, controller.signal);
      // The list shrank under us (a filter, a sync): show its last page instead of nothing.
      if (result.accounts.length === 0 && result.total > 0 && filters.offset > 0) {
        filters.offset = Math.floor((result.total - 1) / LIMIT) * LIMIT;
        return load();
      }
      accounts = result.accounts;
      total = result.total;
      render();
    } catch (error) {
      notifyError(error);
    } finally {
      tbody.removeAttribute('aria-busy');
    }
  }

  function render() {
    const hadFocus = tbody.contains(document.activeElement);
    count.textContent = total.toLocaleString();
    if (accounts.length === 0) {
      replace(tbody, h('tr', { class: 'empty-row' }, h('td', { colspan: TEAM_VIEWS[team()].columns.length + 2 }, emptyMessage())));
    } else {
      // A live refresh keeps each row's element and rewrites only its cells, so a row under
      // the pointer or holding focus stays the same element while other teams' changes arrive.
      tbody.querySelector('.empty-row')?.remove();
      reconcile(tbody, accounts, (account) => account.id, row, fillRow);
    }
    scoreHead.setAttribute('aria-sort', filters.sort === 'score' ? 'descending' : 'none');
    const first = total === 0 ? 0 : filters.offset + 1;
    const last = filters.offset + accounts.length;
    range.textContent = total === 0 ? 'No accounts' : `${first.toLocaleString()}–${last.toLocaleString()} of ${plural(total, 'account')}`;
    prev.disabled = filters.offset === 0;
    next.disabled = last >= total;
    if (selectedId && !accounts.some((account) => account.id === selectedId)) selectedId = null;
    highlight(hadFocus && selectedId ? 'focus' : false);
  }

  function row(account) {
    return h('tr', { dataset: { accountId: account.id } });
  }

  function fillRow(tr, account) {
    const href = `#/accounts/${encodeURIComponent(account.id)}`;
    const shown = `${team()} ${JSON.stringify(account)}`;
    if (shownRows.get(tr) === shown) return;
    shownRows.set(tr, shown);
    const focused = tr.contains(document.activeElement);
    replace(tr,
      h('td', { class: 'cell-name' },
        h('a', { href, class: 'row-link', tabindex: '-1' }, account.name),
        account.domain ? h('span', { class: 'muted domain' }, account.domain) : null),
      TEAM_VIEWS[team()].columns.map(([label, cell, className]) =>
        h('td', { 'data-label': label, class: className ?? '' }, cell(account))),
      h('td', { class: 'num', 'data-label': 'Score' }, scoreBadge(account.value)));
    if (focused) tr.querySelector('.row-link').focus();
  }

  function emptyMessage() {
    const filtered = filters.q || filters.segment || TEAM_VIEWS[team()].filters.some((name) => filters[name]);
    if (!filtered) return h('div', { class: 'empty' }, h('p', {}, 'No accounts yet.'), h('p', { class: 'muted write-only' }, 'Create the first one with “New account”.'));
    return h('div', { class: 'empty' },
      h('p', {}, filters.q ? `No accounts match “${filters.q}”.` : 'No accounts match these filters.'),
      h('button', { type: 'button', class: 'button', on: { click: clearFilters } }, 'Clear search and filters'));
  }

  // ---- Selection and keyboard ----

  function rows() {
    return [...tbody.querySelectorAll('tr[data-account-id]')];
  }

  /**
   * Marks the selected row and gives it the one tab stop of the table (a roving tabindex).
   * `reveal` is false (just mark), 'scroll' (bring it into view) or 'focus' (and focus it).
   */
  function highlight(reveal) {
    for (const tr of rows()) {
      const on = tr.dataset.accountId === selectedId;
      tr.classList.toggle('is-selected', on);
      const link = tr.querySelector('.row-link');
      link.tabIndex = on || (!selectedId && tr === tbody.firstElementChild) ? 0 : -1;
      if (on && reveal) tr.scrollIntoView({ block: 'nearest' });
      if (on && reveal === 'focus') link.focus();
    }
  }

  function move(step, reveal) {
    const index = accounts.findIndex((account) => account.id === selectedId);
    const target = Math.min(Math.max(index + step, 0), accounts.length - 1);
    if (index === -1 && step < 0) return;
    selectedId = accounts[target]?.id ?? null;
    highlight(reveal);
  }

  function open(id) {
    location.hash = `#/accounts/${encodeURIComponent(id)}`;
  }

  page.addEventListener('keydown', (event) => {
    const inRows = tbody.contains(event.target);
    if (event.target !== search && !inRows) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      move(event.key === 'ArrowDown' ? 1 : -1, inRows ? 'focus' : 'scroll');
    } else if (event.key === 'Enter' && event.target === search && selectedId) {
      event.preventDefault();
      open(selectedId);
    } else if (event.key === 'Escape' && event.target === search && search.value) {
      search.value = '';
      onSearch();
    }
  });

  tbody.addEventListener('focusin', (event) => {
    const tr = event.target.closest('tr[data-account-id]');
    if (tr) {
      selectedId = tr.dataset.accountId;
      highlight(false);
    }
  });

  tbody.addEventListener('click', (event) => {
    const tr = event.target.closest('tr[data-account-id]');
    if (tr && !event.target.closest('a')) open(tr.dataset.accountId);
  });

  // ---- Filters and paging ----

  const runSearch = debounce(() => {
    filters.offset = 0;
    selectedId = null;
    load();
  }, SEARCH_DELAY_MS);

  function onSearch() {
    filters.q = search.value.trim();
    runSearch();
  }

  function onFilter() {
    Object.assign(filters, {
      stage: stage.value, tier: tier.value, owner: owner.value,
      open_deals: openDeals.checked, open_ticket: openTicket.checked, segment: segment.value, offset: 0,
    });
    showSegmentActions();
    selectedId = null;
    load();
  }

  /** Shows the chosen team's columns and filters; a filter the team does not offer is off. */
  function showTeam() {
    const view = TEAM_VIEWS[team()];
    replace(thead, h('tr', {},
      h('th', { scope: 'col' }, 'Name'),
      view.columns.map(([label, , className]) => h('th', { scope: 'col', class: className ?? '' }, label)),
      scoreHead));
    for (const [name, element] of Object.entries(filterFields)) element.hidden = !view.filters.includes(name);
    page.dataset.team = team();
  }

  function onTeam() {
    filters.team = teamView.value === ownTeam ? '' : teamView.value;
    filters.offset = 0;
    selectedId = null;
    showTeam();
    load();
  }

  function toggleScoreSort() {
    filters.sort = filters.sort === 'score' ? '' : 'score';
    filters.offset = 0;
    load();
  }

  /** Saves the stage, tier and owner chosen as a segment of the workspace, and picks it. */
  async function onSaveSegment(event) {
    event.preventDefault();
    const name = segmentName.value.trim();
    const filter = {};
    if (filters.stage) filter.stage = filters.stage;
    if (filters.tier) filter.tier = filters.tier;
    if (filters.owner) filter.owner = filters.owner;
    saveSegment.disabled = true;
    try {
      const saved = await api.addSegment(name, filter);
      segmentName.value = '';
      Object.assign(filters, { stage: '', tier: '', owner: '', segment: saved.name, offset: 0 });
      stage.value = tier.value = owner.value = '';
      await loadSegments();
      load();
    } catch (error) {
      notifyError(error);
    } finally {
      saveSegment.disabled = false;
    }
  }

  /** Asks, next to the picker, whether to delete the segment picked. */
  function askDeleteSegment() {
    if (!filters.segment) return;
    confirmPanel.dataset.segment = filters.segment;
    confirmText.textContent = `Delete the segment “${filters.segment}” for everyone in the workspace? Its accounts stay; only the saved filters go.`;
    confirmPanel.hidden = false;
    deleteSegment.setAttribute('aria-expanded', 'true');
    cancelDelete.focus();
  }

  function closeConfirm(refocus) {
    confirmPanel.hidden = true;
    deleteSegment.setAttribute('aria-expanded', 'false');
    if (refocus && !deleteSegment.hidden) deleteSegment.focus();
  }

  /** Deletes the segment the question named (not whatever is picked by now) and shows all accounts. */
  async function onDeleteSegment() {
    const name = confirmPanel.dataset.segment;
    confirmDelete.disabled = true;
    try {
      await api.removeSegment(name);
      notify(`Deleted the segment “${name}”.`, 'success');
      closeConfirm(false);
      if (filters.segment === name) Object.assign(filters, { segment: '', offset: 0 });
      await loadSegments();
      load();
      segment.focus();
    } catch (error) {
      notifyError(error);
    } finally {
      confirmDelete.disabled = false;
    }
  }

  function clearFilters() {
    Object.assign(filters, { q: '', stage: '', tier: '', owner: '', open_deals: false, open_ticket: false, segment: '', offset: 0 });
    search.value = stage.value = tier.value = owner.value = segment.value = '';
    openDeals.checked = openTicket.checked = false;
    showSegmentActions();
    selectedId = null;
    load();
    search.focus();
  }

  function turnPage(step) {
    filters.offset = Math.max(0, filters.offset + step * LIMIT);
    selectedId = null;
    load();
    table.scrollIntoView({ block: 'nearest' });
  }

  function toggleNew(show) {
    panel.hidden = !show;
    newButton.setAttribute('aria-expanded', String(show));
    if (show) panel.querySelector('input').focus();
    else newButton.focus();
  }

  search.addEventListener('input', onSearch);
  for (const control of [stage, tier, owner, openDeals, openTicket, segment]) control.addEventListener('change', onFilter);
  teamView.addEventListener('change', onTeam);

  /** "Delete segment" only while one is picked; a question about another one is withdrawn. */
  function showSegmentActions() {
    deleteSegment.hidden = !filters.segment;
    if (!confirmPanel.hidden && confirmPanel.dataset.segment !== filters.segment) closeConfirm(false);
  }

  /** The workspace's saved segments, shared by the whole team. */
  async function loadSegments() {
    try {
      const segments = await api.listSegments();
      const names = [...new Set(segments.map((saved) => saved.name))];
      if (filters.segment && !names.includes(filters.segment)) filters.segment = '';
      replace(segment, h('option', { value: '' }, 'All accounts'), names.map((name) => h('option', { value: name }, name)));
      segment.value = filters.segment;
      showSegmentActions();
    } catch (error) {
      notifyError(error);
    }
  }

  /** Tiers are free text: offer every value the workspace uses (the dashboard counts them). */
  async function loadTiers() {
    try {
      const dashboard = await api.getDashboard();
      const seen = dashboard.by_tier.map((entry) => entry.key).filter(Boolean);
      if (filters.tier && !seen.includes(filters.tier)) seen.push(filters.tier);
      seen.sort((a, b) => a.localeCompare(b));
      replace(tier, h('option', { value: '' }, 'Any tier'), seen.map((value) => h('option', { value }, value)));
      tier.value = filters.tier;
      replace(panel.querySelector('datalist.tiers'), seen.map((value) => h('option', { value })));
    } catch (error) {
      notifyError(error);
    }
  }

  showTeam();
  load();
  loadTiers();
  loadSegments();
  const refresh = coalesce(load, 700);

  return {
    changed(detail) {
      refresh();
      // A segment saved on another replica arrives as a change of the workspace document.
      if (detail?.workspace) loadSegments();
    },
    unmount() {
      controller?.abort();
      runSearch.cancel();
      refresh.cancel();
    },
  };
}
