// `#/pipeline`: the deal board. One column per pipeline stage with its totals per currency;
// cards move between columns by drag and drop, or with the stage select on each card (the
// keyboard way, and the way on touch screens). A viewer can move nothing: their cards are not
// draggable and the selects are `write-only` (hidden by style.css).

import * as api from '../api.js';
import { coalesce, h, replace, select } from '../dom.js';
import { capitalize, formatDay, formatMoney, plural } from '../format.js';
import { notifyError } from '../toasts.js';

const CARDS_PER_COLUMN = 50; // a column shows this many more each time "Show more" is pressed

export function mount(root, _params, context) {
  context.setTitle('Pipeline');
  let stages = []; // the API's columns
  let controller = null;
  let dragging = null; // the deal being dragged
  let refreshAfterDrag = false;
  const shownPerStage = new Map();

  const board = h('div', { class: 'board', 'aria-busy': 'true' });
  const summary = h('p', { class: 'muted' });
  const page = h('section', { class: 'page pipeline-page' },
    h('div', { class: 'page-head' },
      h('div', {}, h('h1', {}, 'Pipeline'), summary)),
    board);
  root.append(page);

  async function load() {
    if (dragging) {
      refreshAfterDrag = true; // re-rendering now would cancel the drag under the pointer
      return;
    }
    controller?.abort();
    controller = new AbortController();
    try {
      const pipeline = await api.getPipeline(controller.signal);
      stages = pipeline.stages ?? [];
      render();
    } catch (error) {
      notifyError(error);
    } finally {
      board.removeAttribute('aria-busy');
    }
  }

  /** Redraws the board; keyboard focus stays on the card (or its select) it was on. */
  function render() {
    const active = document.activeElement;
    const focusedCard = board.contains(active) ? active.closest('.deal-card')?.dataset.dealId : null;
    const focusedSelect = active?.tagName === 'SELECT';

    const deals = stages.reduce((sum, column) => sum + column.deals.length, 0);
    replace(summary, `${plural(deals, 'deal')} in ${plural(stages.length, 'stage')}.`,
      h('span', { class: 'write-only' }, ' Drag a card to another column, or change its stage.'));
    replace(board, stages.length ? stages.map(column) : h('p', { class: 'card empty' }, 'No pipeline stages yet.'));

    if (focusedCard) {
      const card = board.querySelector(`.deal-card[data-deal-id="${CSS.escape(focusedCard)}"]`);
      (focusedSelect ? card?.querySelector('select') : card)?.focus();
    }
  }

  function stageNames(extra) {
    const names = context.me?.workspace?.pipeline ?? stages.map((column) => column.stage);
    return names.includes(extra) ? names : [...names, extra];
  }

  function column({ stage, totals, deals }) {
    const shown = shownPerStage.get(stage) ?? CARDS_PER_COLUMN;
    const titleId = `stage-${stage}`;
    const list = h('ul', { class: 'cards', 'aria-labelledby': titleId }, deals.slice(0, shown).map(card));
    const more = deals.length > shown ? h('button', {
      type: 'button', class: 'button subtle more',
      on: { click: () => { shownPerStage.set(stage, shown + CARDS_PER_COLUMN); render(); } },
    }, moreLabel(deals.length - shown)) : null;

    const element = h('section', { class: `column stage-col-${stage}`, dataset: { stage } },
      h('header', { class: 'column-head' },
        h('h2', { id: titleId }, capitalize(stage), ' ', h('span', { class: 'count' }, String(deals.length))),
        h('p', { class: 'totals' }, totals?.length
          ? totals.map((total, index) => [index ? ' · ' : '', h('span', { class: 'money' }, formatMoney(total.amount, total.currency))])
          : h('span', { class: 'muted' }, 'No deals'))),
      list, more);
    dropTarget(element, stage);
    return element;
  }

  function card(deal) {
    const selectId = `card-stage-${deal.id}`;
    const stageSelect = select(stageNames(deal.stage).map((s) => [s, capitalize(s)]), { id: selectId, value: deal.stage, class: 'compact' });
    stageSelect.addEventListener('change', () => move(deal, stageSelect.value));

    // Checked at each render: a role change comes as a `changed` event, which redraws the board.
    const element = h('li', {
      class: 'deal-card', draggable: context.readOnly ? null : 'true', tabindex: '-1',
      dataset: { dealId: deal.id, accountId: deal.account },
    },
    h('span', { class: 'deal-title' }, deal.title),
    h('a', { class: 'deal-account', href: `#/accounts/${encodeURIComponent(deal.account)}`, draggable: 'false' }, deal.account_name),
    h('div', { class: 'deal-facts' },
      h('strong', { class: 'money' }, formatMoney(deal.amount, deal.currency)),
      deal.close ? h('span', { class: 'muted' }, formatDay(deal.close)) : null),
    h('div', { class: 'deal-move write-only' },
      h('label', { for: selectId }, h('span', { class: 'visually-hidden' }, `${deal.title}: `), 'Stage'),
      stageSelect));

    element.addEventListener('dragstart', (event) => {
      if (context.readOnly) {
        event.preventDefault(); // the node would refuse the move
        return;
      }
      dragging = deal;
      event.dataTransfer.effectAllowed = 'move';
      event.dataTransfer.setData('text/plain', deal.id);
      requestAnimationFrame(() => element.classList.add('is-dragging'));
    });
    element.addEventListener('dragend', () => {
      dragging = null;
      element.classList.remove('is-dragging');
      for (const col of board.querySelectorAll('.is-over')) col.classList.remove('is-over');
      if (refreshAfterDrag) {
        refreshAfterDrag = false;
        load();
      }
    });
    return element;
  }

  function dropTarget(element, stage) {
    element.addEventListener('dragover', (event) => {
      if (!dragging) return;
      event.preventDefault(); // allows the drop
      event.dataTransfer.dropEffect = 'move';
      element.classList.add('is-over');
    });
    element.addEventListener('dragleave', (event) => {
      if (!element.contains(event.relatedTarget)) element.classList.remove('is-over');
    });
    element.addEventListener('drop', (event) => {
      event.preventDefault();
      element.classList.remove('is-over');
      const deal = dragging;
      dragging = null;
      if (deal && deal.stage !== stage) move(deal, stage);
    });
  }

  /** Moves a card at once (the write is local and quick), then asks the node for the truth. */
  async function move(deal, stage) {
    moveLocally(deal, stage);
    render();
    try {
      await api.setDealStage(deal.account, deal.id, stage);
    } catch (error) {
      notifyError(error);
    }
    load();
  }

  function moveLocally(deal, stage) {
    const from = stages.find((column) => column.stage === deal.stage);
    let to = stages.find((column) => column.stage === stage);
    if (!to) {
      to = { stage, totals: [], deals: [] };
      stages.push(to);
    }
    if (from) from.deals = from.deals.filter((d) => d.id !== deal.id);
    const moved = { ...deal, stage };
    to.deals = [moved, ...to.deals];
    for (const column of [from, to]) if (column) column.totals = totalsOf(column.deals);
  }

  load();
  const refresh = coalesce(load, 500);
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

/** Sums deals per currency, as the API does. */
function totalsOf(deals) {
  const sums = new Map();
  for (const deal of deals) sums.set(deal.currency, (sums.get(deal.currency) ?? 0) + deal.amount);
  return [...sums].map(([currency, amount]) => ({ currency, amount }));
}

/** The label of a column's "more" button, for `hidden` cards not shown yet. */
function moreLabel(hidden) {
  const next = Math.min(CARDS_PER_COLUMN, hidden);
  return next === hidden ? `Show ${hidden} more` : `Show ${next} more (${hidden} hidden)`;
}
