// `#/reports`: the open pipeline by stage and by owner (deals and value, one chart per
// currency: amounts of different currencies are never added), the win rate overall and per
// owner, interactions per team and kind, and the accounts needing attention. Each comes from
// `/api/reports/…`; all four are fetched again on `changed` events, like the dashboard.

import * as api from '../api.js';
import { barChart, groupedBarChart, legend } from '../charts.js';
import { coalesce, field, h, replace, select } from '../dom.js';
import { ENTRY_KINDS, TEAMS, capitalize, formatMoney, plural, stageBadge, timeElement } from '../format.js';
import { notifyError } from '../toasts.js';

const TEAM_SERIES = TEAMS.map((team) => ({ key: team, label: capitalize(team), className: `team-${team}` }));
const WINDOWS = [[7, 'Last 7 days'], [30, 'Last 30 days'], [90, 'Last 90 days'], [365, 'Last 365 days']];
const WIN_WINDOWS = [['', 'Every closed deal'], ...WINDOWS.map(([days]) => [days, `Closing in the last ${days} days`])];
/** How many accounts each attention list shows before "and N more". */
const SHOWN = 50;

export function mount(root, _params, context) {
  context.setTitle('Reports');
  let data = null;
  let controller = null;

  const daysSelect = select(WINDOWS, { id: 'report-days', value: '30', on: { change: () => load() } });
  const winSelect = select(WIN_WINDOWS, { id: 'report-win-days', value: '', on: { change: () => load() } });
  const totals = h('div', { class: 'stat-row report-stats' });
  const boxes = {
    stages: h('div', { class: 'chart-box' }),
    owners: h('div', { class: 'chart-box' }),
    winRate: h('div', { class: 'chart-box' }),
    teams: h('div', { class: 'chart-box' }),
    kinds: h('div', { class: 'chart-box' }),
    tickets: h('ul', { class: 'attention-list', id: 'attention-tickets' }),
    untouched: h('ul', { class: 'attention-list', id: 'attention-untouched' }),
  };
  const winSummary = h('p', { class: 'muted report-note' });
  const untouchedTitle = h('h3', {}, 'No timeline entry');
  const page = h('section', { class: 'page reports-page', id: 'reports', 'aria-busy': 'true' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Reports'),
      h('div', { class: 'head-actions' }, field('Interactions and attention', daysSelect))),
    totals,
    h('div', { class: 'chart-grid' },
      card('report-pipeline-stages', 'Open pipeline by stage', boxes.stages),
      card('report-pipeline-owners', 'Open pipeline by owner', boxes.owners),
      card('report-win-rate', 'Win rate by owner', boxes.winRate, [field('Deals', winSelect), winSummary]),
      card('report-interactions', 'Interactions per team', boxes.teams, legend(TEAM_SERIES)),
      card('report-interaction-kinds', 'Interactions per kind and team', boxes.kinds, legend(TEAM_SERIES), 'wide'),
      card('report-attention', 'Accounts needing attention', h('div', { class: 'attention-columns' },
        h('div', {}, h('h3', {}, 'Open ticket and open deal'), boxes.tickets),
        h('div', {}, untouchedTitle, boxes.untouched)), null, 'wide')));
  root.append(page);

  async function load() {
    controller?.abort();
    controller = new AbortController();
    const { signal } = controller;
    const days = daysSelect.value;
    try {
      const [pipeline, winRate, interactions, attention] = await Promise.all([
        api.getReport('pipeline', null, signal),
        api.getReport('win-rate', winSelect.value, signal),
        api.getReport('interactions', days, signal),
        api.getReport('attention', days, signal),
      ]);
      data = { pipeline, winRate, interactions, attention };
      render();
    } catch (error) {
      if (error.name !== 'AbortError') notifyError(error);
    } finally {
      page.removeAttribute('aria-busy');
    }
  }

  function render() {
    if (!data) return;
    const { pipeline, winRate, interactions, attention } = data;
    const needing = attention.untouched.length + attention.open_tickets.length;
    replace(totals,
      stat('Open deals', pipeline.deals.toLocaleString(), '#/pipeline', 'stat-open-deals'),
      stat('Win rate', percent(winRate.overall.rate), null, 'stat-win-rate'),
      stat(`Interactions, last ${plural(interactions.days, 'day')}`, interactions.entries.toLocaleString(), null, 'stat-interactions'),
      stat('Accounts needing attention', needing.toLocaleString(), null, 'stat-attention', needing > 0 ? 'attention' : ''));

    const width = widthOf(boxes.stages);
    replace(boxes.stages, ...pipelineCharts(pipeline.stages.map((s) => ({ ...s, label: capitalize(s.stage) })), pipeline.totals, 'stage', width));
    replace(boxes.owners, ...pipelineCharts(pipeline.owners.map((o) => ({ ...o, label: o.owner ?? 'No owner' })), pipeline.totals, 'owner', width));

    winSummary.textContent = winRate.overall.won + winRate.overall.lost === 0
      ? 'No deal won or lost yet.'
      : `Overall ${percent(winRate.overall.rate)}: ${plural(winRate.overall.won, 'deal')} won, ${winRate.overall.lost.toLocaleString()} lost.` +
        (winRate.undated ? ` ${plural(winRate.undated, 'closed deal')} without a close date left out.` : '');
    replace(boxes.winRate, barChart(winRate.owners.map((o) => ({
      label: `${o.owner ?? 'No owner'} (${o.won}/${o.won + o.lost})`,
      value: Math.round((o.rate ?? 0) * 100),
      className: o.owner ? 'win' : 'none',
    })), { width: widthOf(boxes.winRate), title: 'Win rate by owner, percent of deals won', format: (value) => `${value}%` }));

    replace(boxes.teams, barChart(interactions.teams.map((team) => ({
      label: capitalize(team.team), value: team.entries, className: `team-${team.team}`,
    })), { width: widthOf(boxes.teams), title: `Interactions per team, last ${interactions.days} days` }));
    const kinds = ENTRY_KINDS.map((kind) => ({
      label: capitalize(kind),
      values: Object.fromEntries(interactions.teams.map((team) => [team.team, team.kinds[kind] ?? 0])),
    }));
    replace(boxes.kinds, groupedBarChart(kinds, TEAM_SERIES, { width: widthOf(boxes.kinds), title: `Interactions per kind and team, last ${interactions.days} days` }));

    replace(boxes.tickets, attention.open_tickets.length
      ? attention.open_tickets.map((a) => accountLine(a, 'Ticket logged ', timeElement(a.ticket_at), ` · ${plural(a.deals, 'open deal')}: ${money(a.totals)}`))
      : h('li', { class: 'muted' }, 'None: every ticket on an account with an open deal was followed up by support.'));
    untouchedTitle.textContent = `No timeline entry in ${plural(attention.days, 'day')} (${attention.untouched.length.toLocaleString()})`;
    const shown = attention.untouched.slice(0, SHOWN).map((a) =>
      accountLine(a, a.last_entry ? 'Last entry ' : 'No entry yet', a.last_entry ? timeElement(a.last_entry) : null));
    const more = attention.untouched.length - shown.length;
    replace(boxes.untouched, shown.length ? shown : h('li', { class: 'muted' }, 'None: every account was touched.'),
      more > 0 ? h('li', { class: 'muted' }, `and ${more.toLocaleString()} more`) : null);
  }

  // Charts are drawn at their real width; draw them again when it changes.
  let lastWidth = 0;
  const resized = new ResizeObserver(() => {
    const width = widthOf(boxes.kinds);
    if (Math.abs(width - lastWidth) < 8) return;
    lastWidth = width;
    requestAnimationFrame(render);
  });
  resized.observe(page);

  load();
  const refresh = coalesce(load, 1500); // reports need not follow every keystroke of a sync
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

function card(id, title, box, extra, size = '') {
  return h('section', { class: `card chart-card ${size}`, id }, h('h2', {}, title), extra, box);
}

function stat(label, value, href, id, tone = '') {
  const body = [h('span', { class: 'stat-value' }, value), h('span', { class: 'stat-label' }, label)];
  return href
    ? h('a', { class: `stat card ${tone}`, href, id }, body)
    : h('div', { class: `stat card ${tone}`, id }, body);
}

/** Deals per line, then their value in each currency the pipeline holds, one chart each. */
function pipelineCharts(lines, currencies, what, width) {
  const count = barChart(lines.map((line) => ({ label: line.label, value: line.deals, className: 'deals' })),
    { width, title: `Open deals by ${what}` });
  const values = currencies.map(({ currency }) => h('div', { class: 'currency-chart' },
    h('h3', {}, `Value in ${currency}`),
    barChart(lines.map((line) => ({
      label: line.label,
      value: line.totals.find((total) => total.currency === currency)?.amount ?? 0,
      className: 'value',
    })), { width, title: `Open value by ${what} in ${currency}`, format: (amount) => formatMoney(amount, currency) })));
  return [count, ...values];
}

function accountLine(account, ...facts) {
  return h('li', { class: 'attention-account', dataset: { account: account.account } },
    h('a', { href: `#/accounts/${encodeURIComponent(account.account)}` }, account.name),
    stageBadge(account.stage),
    h('span', { class: 'muted' }, account.owner ? ` ${account.owner} · ` : ' No owner · ', ...facts));
}

function money(totals) {
  return totals.map((total) => formatMoney(total.amount, total.currency)).join(', ') || 'no value';
}

function percent(rate) {
  return rate == null ? '–' : `${Math.round(rate * 100)}%`;
}

function widthOf(box) {
  return Math.max(260, Math.floor(box.clientWidth || 320));
}
