// `#/alerts`: the inbox: my due tasks (open tasks due today or overdue, with a Done button),
// then the alerts for me or my team, newest first, with acknowledge buttons (`write-only`: a
// viewer's writes would be refused, so style.css hides them).

import * as api from '../api.js';
import { coalesce, h, replace } from '../dom.js';
import { capitalize, formatDay, plural, teamBadge, timeElement } from '../format.js';
import { notify, notifyError } from '../toasts.js';

let showAcknowledged = false; // kept across visits
const PAGE = 100; // alerts rendered at first; "Show more" adds as many again

export function mount(root, _params, context) {
  context.setTitle('Alerts');
  let alerts = [];
  let reminders = [];
  let limit = PAGE;
  let controller = null;

  const toggle = h('input', { type: 'checkbox', id: 'alerts-show-all', checked: showAcknowledged });
  const ackAll = h('button', { type: 'button', class: 'button primary write-only', id: 'ack-all' }, 'Acknowledge all');
  const list = h('ul', { class: 'alert-list', 'aria-labelledby': 'alerts-title' });
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'button subtle', hidden: true }, 'Show more');
  const dueList = h('ul', { class: 'due-list', 'aria-labelledby': 'due-title' });
  const due = h('section', { class: 'due-tasks', id: 'due-tasks', hidden: true },
    h('h2', { id: 'due-title' }, 'Due tasks'), dueList);
  const page = h('section', { class: 'page alerts-page' },
    h('div', { class: 'page-head' },
      h('div', {}, h('h1', { id: 'alerts-title' }, 'Alerts'), summary),
      h('div', { class: 'head-actions' },
        h('label', { class: 'check', for: toggle.id }, toggle, ' Show acknowledged'),
        ackAll)),
    due, list, more);
  root.append(page);

  async function load() {
    controller?.abort();
    controller = new AbortController();
    try {
      [alerts, reminders] = await Promise.all([
        api.listAlerts(showAcknowledged, controller.signal),
        api.listReminders(controller.signal),
      ]);
      render();
    } catch (error) {
      notifyError(error);
    }
  }

  function render() {
    due.hidden = reminders.length === 0;
    replace(dueList, reminders.map(reminderItem));
    const open = alerts.filter((alert) => !alert.acknowledged).length;
    summary.textContent = open === 0 ? 'You are all caught up.'
      : `${open.toLocaleString()} ${context.readOnly ? 'open' : 'to acknowledge'}.`;
    ackAll.disabled = open === 0;
    // Keep keyboard focus in the list when the focused alert's button disappears.
    const focusedIndex = [...list.children].findIndex((item) => item.contains(document.activeElement));
    replace(list, alerts.length ? alerts.slice(0, limit).map(alertItem) : h('li', { class: 'card empty' },
      h('p', {}, 'No alerts.'), h('p', { class: 'muted' }, 'When someone flags a note for you or your team, it shows up here.')));
    more.hidden = alerts.length <= limit;
    more.textContent = `Show more (${(alerts.length - limit).toLocaleString()} older)`;
    if (focusedIndex >= 0) {
      const item = list.children[Math.min(focusedIndex, list.children.length - 1)];
      (item?.querySelector('button, a') ?? ackAll).focus();
    }
  }

  function alertItem(alert) {
    const href = `#/accounts/${encodeURIComponent(alert.account)}`;
    const ack = alert.acknowledged
      ? h('span', { class: 'muted acked' }, 'Acknowledged')
      : h('button', {
        type: 'button', class: 'button write-only',
        'aria-label': `Acknowledge alert from ${alert.author} on ${alert.account_name}`,
        on: { click: () => acknowledge(alert, ack) },
      }, 'Acknowledge');
    return h('li', { class: `card alert-item${alert.acknowledged ? ' is-acked' : ''}`, dataset: { alertId: alert.id, team: alert.team } },
      h('div', { class: 'alert-head' },
        h('a', { class: 'alert-account', href }, alert.account_name),
        teamBadge(alert.team),
        h('span', { class: 'entry-kind' }, capitalize(alert.kind)),
        h('span', {}, alert.author),
        timeElement(alert.at)),
      h('p', { class: 'entry-text' }, alert.text),
      h('div', { class: 'alert-foot' },
        h('span', { class: 'alert-reasons' }, h('span', { class: 'muted' }, 'Why: '),
          ...(alert.reasons ?? []).map((reason) => h('span', { class: 'badge reason', dataset: { reason } }, reasonText(reason)))),
        ack));
  }

  function reminderItem(task) {
    const href = `#/accounts/${encodeURIComponent(task.account)}`;
    const late = task.days_overdue === 0 ? 'Due today'
      : `${plural(task.days_overdue, 'day')} overdue`;
    const done = h('button', {
      type: 'button', class: 'button write-only',
      'aria-label': `Mark “${task.title}” on ${task.account_name} done`,
      on: { click: () => complete(task, done) },
    }, 'Done');
    return h('li', { class: `card due-item${task.days_overdue > 0 ? ' is-overdue' : ''}`, dataset: { taskId: task.id } },
      h('div', { class: 'alert-head' },
        h('a', { class: 'alert-account', href }, task.account_name),
        h('span', { class: 'due-when' }, late),
        h('span', { class: 'muted' }, `Due ${formatDay(task.due)}`)),
      h('div', { class: 'alert-foot' },
        h('p', { class: 'entry-text' }, task.title),
        done));
  }

  async function complete(task, button) {
    button.disabled = true;
    try {
      await api.completeTask(task.account, task.id);
      notify(`Done: ${task.title}`, 'success');
    } catch (error) {
      notifyError(error);
    }
    context.refreshAlertCount();
    load();
  }

  /** What a reason from the inbox (`direct`, `team`, `mentioned`, `following`, `rule NAME`) says. */
  function reasonText(reason) {
    if (reason.startsWith('rule ')) return `Rule ${reason.slice(5)}`;
    return { direct: 'For you', team: 'For your team', mentioned: 'Mentioned', following: 'Following' }[reason] ?? reason;
  }

  async function acknowledge(alert, button) {
    button.disabled = true;
    try {
      await api.ackAlert(alert.id);
    } catch (error) {
      notifyError(error);
    }
    context.refreshAlertCount();
    load();
  }

  ackAll.addEventListener('click', async () => {
    ackAll.disabled = true;
    try {
      const result = await api.ackAllAlerts();
      const count = result?.acknowledged ?? 0;
      notify(`Acknowledged ${count.toLocaleString()} ${count === 1 ? 'alert' : 'alerts'}.`, 'success');
    } catch (error) {
      notifyError(error);
    }
    context.refreshAlertCount();
    load();
  });

  more.addEventListener('click', () => {
    limit += PAGE;
    render();
  });

  toggle.addEventListener('change', () => {
    showAcknowledged = toggle.checked;
    load();
  });

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
