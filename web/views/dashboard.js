// `#/dashboard`: accounts by stage and by tier, interactions per team per week, open alerts,
// and a team's latest timeline entries (the user's own team at first; a switch shows another's).

import * as api from '../api.js';
import { barChart, groupedBarChart, legend } from '../charts.js';
import { coalesce, h, replace } from '../dom.js';
import { ACCOUNT_STAGES, TEAMS, capitalize, teamBadge, timeElement } from '../format.js';
import { notifyError } from '../toasts.js';

const TEAM_SERIES = TEAMS.map((team) => ({ key: team, label: capitalize(team), className: `team-${team}` }));
const weekFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
let chosenTeam = ''; // '' is the user's own team; kept across visits

export function mount(root, _params, context) {
  context.setTitle('Dashboard');
  let data = null;
  let controller = null;

  const totals = h('div', { class: 'stat-row' });
  const stageBox = h('div', { class: 'chart-box' });
  const tierBox = h('div', { class: 'chart-box' });
  const weekBox = h('div', { class: 'chart-box' });
  const ownTeam = TEAMS.includes(context.me?.team) ? context.me.team : 'sales';
  const teamView = h('select', { id: 'dashboard-team' },
    TEAMS.map((t) => h('option', { value: t }, `${capitalize(t)}${t === ownTeam ? ' (my team)' : ''}`)));
  teamView.value = chosenTeam || ownTeam;
  const recentTitle = h('h2', {});
  const recentList = h('ul', { class: 'recent-list', id: 'recent-entries' });
  const page = h('section', { class: 'page dashboard-page', id: 'dashboard', 'aria-busy': 'true' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Dashboard'),
      h('label', { class: 'team-switch', for: teamView.id }, 'View for', teamView)),
    totals,
    h('div', { class: 'chart-grid' },
      chartCard('Accounts by stage', stageBox),
      chartCard('Accounts by tier', tierBox),
      chartCard('Interactions per team per week', weekBox, legend(TEAM_SERIES), 'wide'),
      h('section', { class: 'card chart-card wide' }, recentTitle, recentList)));
  teamView.addEventListener('change', () => {
    chosenTeam = teamView.value === ownTeam ? '' : teamView.value;
    load();
  });
  root.append(page);

  async function load() {
    controller?.abort();
    controller = new AbortController();
    try {
      data = await api.getDashboard(controller.signal, chosenTeam || ownTeam);
      render();
    } catch (error) {
      notifyError(error);
    } finally {
      page.removeAttribute('aria-busy');
    }
  }

  function render() {
    if (!data) return;
    replace(totals,
      stat('Accounts', data.accounts, '#/accounts'),
      stat('Open alerts', data.open_alerts, '#/alerts', data.open_alerts > 0 ? 'attention' : ''),
      stat('Interactions, last 12 weeks', (data.interactions ?? []).reduce((sum, week) =>
        sum + TEAMS.reduce((n, team) => n + (week[team] ?? 0), 0), 0)));

    replace(stageBox, barChart(byStage(data.by_stage ?? []), { width: widthOf(stageBox), title: 'Accounts by stage' }));
    replace(tierBox, barChart(byTier(data.by_tier ?? []), { width: widthOf(tierBox), title: 'Accounts by tier' }));
    const weeks = (data.interactions ?? []).map((week) => ({
      label: `Week of ${formatWeek(week.week)}`,
      short: formatWeek(week.week),
      values: week,
    }));
    replace(weekBox, groupedBarChart(weeks, TEAM_SERIES, { width: widthOf(weekBox), title: 'Interactions per team per week' }));
    recentTitle.textContent = `Latest from ${capitalize(data.team ?? ownTeam)}`;
    const recent = data.recent ?? [];
    replace(recentList, recent.length ? recent.map(recentItem)
      : h('li', { class: 'muted' }, 'No timeline entries from this team yet.'));
  }

  // Charts are drawn at their real width; draw them again when it changes.
  let lastWidth = 0;
  const resized = new ResizeObserver(() => {
    const width = widthOf(weekBox);
    if (Math.abs(width - lastWidth) < 8) return;
    lastWidth = width;
    requestAnimationFrame(render);
  });
  resized.observe(page);

  load();
  const refresh = coalesce(load, 1500); // charts need not follow every keystroke of a sync
  return {
    changed() {
      refresh();
    },
    unmount() {
      controller?.abort();
      refresh.cancel();
      resized.disconnect();
    },
  };
}

function recentItem(entry) {
  return h('li', { dataset: { entryId: entry.id } },
    h('a', { href: `#/accounts/${encodeURIComponent(entry.account)}` }, entry.account_name ?? entry.account),
    teamBadge(entry.team),
    h('span', { class: 'entry-kind' }, capitalize(entry.kind)),
    h('span', { class: 'muted' }, entry.author),
    timeElement(entry.at),
    h('p', { class: 'entry-text' }, entry.text));
}

function chartCard(title, box, extra, size = '') {
  return h('section', { class: `card chart-card ${size}` }, h('h2', {}, title), extra, box);
}

function stat(label, value, href, tone = '') {
  const number = h('span', { class: 'stat-value' }, Number(value ?? 0).toLocaleString());
  const body = [number, h('span', { class: 'stat-label' }, label)];
  return href
    ? h('a', { class: `stat card ${tone}`, href }, body)
    : h('div', { class: `stat card ${tone}` }, body);
}

/** The known stages in lifecycle order, then any others, then accounts with no stage. */
function byStage(entries) {
  const order = (key) => (key === null ? 99 : ACCOUNT_STAGES.includes(key) ? ACCOUNT_STAGES.indexOf(key) : 50);
  return entries.slice().sort((a, b) => order(a.key) - order(b.key)).map((entry) => ({
    label: entry.key === null ? 'No stage' : capitalize(entry.key),
    value: entry.count,
    className: entry.key === null ? 'none' : ACCOUNT_STAGES.includes(entry.key) ? `stage-${entry.key}` : 'other',
  }));
}

/** Tiers by size, largest first; accounts with no tier last. */
function byTier(entries) {
  return entries.slice().sort((a, b) => (a.key === null) - (b.key === null) || b.count - a.count).map((entry) => ({
    label: entry.key === null ? 'No tier' : entry.key,
    value: entry.count,
    className: entry.key === null ? 'none' : 'tier',
  }));
}

function widthOf(box) {
  return Math.max(260, Math.floor(box.clientWidth || 320));
}

function formatWeek(date) {
  const time = Date.parse(`${date}T00:00:00Z`);
  return Number.isNaN(time) ? String(date) : weekFormat.format(time);
}
