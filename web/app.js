// Rapport's web UI: boot, hash routing, the header (sync status, alert count) and the live
// stream that keeps whatever is on screen current.
//
// Each view module exports `mount(root, params, context)` and returns an object with
// `changed(detail)` (documents changed: refetch what you show if it concerns you) and
// `unmount()` (stop timers and listeners). `detail` is the `changed` event's data, or
// `{ all: true }` after the live stream was lost and resumed.

import * as api from './api.js';
import { coalesce, h, replace } from './dom.js';
import { capitalize, plural } from './format.js';
import { subscribe } from './live.js';
import { notify, notifyError, showAlertToast } from './toasts.js';
import * as accountsView from './views/accounts.js';
import * as accountView from './views/account.js';
import * as alertsView from './views/alerts.js';
import * as dashboardView from './views/dashboard.js';
import * as duplicatesView from './views/duplicates.js';
import * as pipelineView from './views/pipeline.js';
import * as reportsView from './views/reports.js';
import * as settingsView from './views/settings.js';

const ROUTES = [
  { path: /^\/accounts\/?$/, nav: 'accounts', view: accountsView },
  { path: /^\/accounts\/([^/]+)$/, nav: 'accounts', view: accountView },
  { path: /^\/pipeline\/?$/, nav: 'pipeline', view: pipelineView },
  { path: /^\/dashboard\/?$/, nav: 'dashboard', view: dashboardView },
  { path: /^\/reports\/?$/, nav: 'reports', view: reportsView },
  { path: /^\/alerts\/?$/, nav: 'alerts', view: alertsView },
  { path: /^\/duplicates\/?$/, nav: 'duplicates', view: duplicatesView },
  { path: /^\/settings\/?$/, nav: 'settings', view: settingsView },
];

const STATUS_TEXT = {
  online: 'Online',
  syncing: 'Syncing…',
  offline: 'Offline',
  local: 'Local only',
};

const session = { me: null, status: null, streamUp: true };

// What the "Read only" pill in the header says, to the pointer (title) and to screen readers.
const READ_ONLY_TEXT = 'You are a viewer of this workspace: you see everything, and cannot change it';

/** What views may use from the app. */
const context = {
  get me() {
    return session.me;
  },
  get status() {
    return session.status;
  },
  /** A viewer: the node refuses their writes (403), so views offer none. */
  get readOnly() {
    return session.me?.role === 'viewer';
  },
  setTitle(text) {
    document.title = text ? `${text} · Rapport` : 'Rapport';
  },
  refreshAlertCount: () => refreshAlertCount(),
};

let current = null; // the mounted view
let focusSearchOnMount = false;
let firstRoute = true;

// ---- Routing ----------------------------------------------------------------------------

function route() {
  const path = location.hash.replace(/^#/, '') || '/accounts';
  let params = null;
  const match = ROUTES.find((candidate) => (params = candidate.path.exec(path)));
  if (!match) {
    location.replace('#/accounts');
    return;
  }
  current?.unmount?.();
  const root = document.getElementById('view');
  replace(root);
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === match.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  current = match.view.mount(root, params.slice(1).map(safeDecode), context);
  // After a navigation, move focus to the new content so keyboard and screen reader users
  // start there; on first load, leave focus where the browser put it.
  if (focusSearchOnMount && document.getElementById('search')) document.getElementById('search').focus();
  else if (!firstRoute) root.focus({ preventScroll: true });
  window.scrollTo(0, 0);
  focusSearchOnMount = false;
  firstRoute = false;
}

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// ---- Header: who, sync status, alert count ------------------------------------------------

async function loadMe() {
  try {
    session.me = await api.getMe();
  } catch (error) {
    notifyError(error);
    return;
  }
  const { user, team, role, workspace } = session.me;
  document.getElementById('workspace-name').textContent = workspace?.name ?? '';
  showRole(role);
  replace(document.getElementById('me'),
    h('span', { class: 'visually-hidden' }, 'Signed in as '),
    h('span', { class: 'me-user' }, user),
    h('span', { class: `badge team team-${team}` }, team),
    role === 'viewer' ? readOnlyBadge() : null);
}

/**
 * Puts the role on `<body data-role>`. style.css hides every `.write-only` control for a
 * viewer, so a view follows the role whenever it was rendered, and when an admin changes it.
 */
function showRole(role) {
  if (role) document.body.dataset.role = role;
  else delete document.body.dataset.role;
}

/** The header's "Read only" pill; the sentence is in the title and, for screen readers, in the text. */
function readOnlyBadge() {
  return h('span', { class: 'badge read-only', title: `${READ_ONLY_TEXT}.` },
    'Read only', h('span', { class: 'visually-hidden' }, `: ${READ_ONLY_TEXT.toLowerCase()}.`));
}

function showStatus(status) {
  if (!status || typeof status.state !== 'string') return;
  session.status = status;
  const element = document.getElementById('status');
  element.dataset.state = status.state;
  element.querySelector('.status-text').textContent = STATUS_TEXT[status.state] ?? status.state;
  element.title = statusDetail(status);

  const unsynced = Number(status.unsynced) || 0;
  const counter = document.getElementById('unsynced');
  counter.dataset.count = String(unsynced);
  counter.textContent = `${unsynced.toLocaleString()} local ${unsynced === 1 ? 'change' : 'changes'} not yet on the relay`;
  counter.hidden = unsynced === 0;

  // After a join of a large workspace the node indexes what it fetched in the background:
  // until then those accounts are missing from lists, search and alerts.
  const indexing = Number(status.indexing) || 0;
  const waiting = document.getElementById('indexing');
  waiting.dataset.count = String(indexing);
  waiting.textContent = `Indexing ${indexing.toLocaleString()} ${indexing === 1 ? 'document' : 'documents'} from the relay…`;
  waiting.title = 'Accounts appear in lists, search and alerts as they are indexed.';
  waiting.hidden = indexing === 0;
  showBanner();
}

function statusDetail(status) {
  switch (status.state) {
    case 'online': return `Connected to ${status.relay ?? 'the relay'}; everything is in sync.`;
    case 'syncing': return `Connected to ${status.relay ?? 'the relay'}; exchanging changes.`;
    case 'offline': return `Not connected to ${status.relay ?? 'the relay'}${status.error ? `: ${status.error}` : ''}.`;
    case 'local': return 'This replica has no relay: changes stay on this machine.';
    default: return '';
  }
}

/** The banner under the header explains the two situations where data is not flowing. */
function showBanner() {
  const banner = document.getElementById('banner');
  let text = '';
  let reason = '';
  if (!session.streamUp) {
    text = 'Lost contact with the local Rapport process. Retrying… What you see may be out of date.';
  } else if (session.status?.state === 'offline') {
    text = 'You are offline. Keep working: changes are saved on this device and will sync when the relay is reachable again.';
    reason = session.status.error ?? '';
  }
  replace(banner, text, reason ? h('span', { class: 'banner-reason' }, capitalize(reason)) : null);
  banner.hidden = !text;
  banner.dataset.kind = session.streamUp ? 'offline' : 'lost';
}

/**
 * The Alerts badge: unacknowledged alerts plus due tasks (open tasks of mine due today or
 * earlier), what the inbox asks me to act on. Refreshed on every change of an account, on an
 * alert, after the inbox acts, and just after midnight UTC, when tomorrow's tasks fall due.
 */
const refreshAlertCount = coalesce(async () => {
  try {
    const [alerts, reminders] = await Promise.all([api.listAlerts(false), api.listReminders()]);
    const open = alerts.filter((alert) => !alert.acknowledged).length;
    const due = reminders.length;
    const count = open + due;
    const badge = document.getElementById('alert-count');
    badge.textContent = String(count);
    badge.dataset.alerts = String(open);
    badge.dataset.due = String(due);
    badge.classList.toggle('is-zero', count === 0);
    const words = `${plural(open, 'unacknowledged alert')}, ${plural(due, 'due task')}`;
    badge.title = capitalize(words);
    document.getElementById('alert-count-words').textContent = ` (${words})`;
  } catch (error) {
    notifyError(error);
  }
}, 300);

/** Refreshes the badge just after each midnight UTC: the day due tasks are counted by. */
function refreshAtMidnight() {
  const now = new Date();
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  setTimeout(() => {
    refreshAlertCount();
    refreshAtMidnight();
  }, midnight - now.getTime() + 1000);
}

// ---- Live updates -----------------------------------------------------------------------

function startLive() {
  subscribe({
    status: showStatus,
    changed(detail) {
      const changed = { accounts: Array.isArray(detail.accounts) ? detail.accounts : [], workspace: Boolean(detail.workspace) };
      if (changed.workspace) loadMe();
      if (changed.accounts.length) refreshAlertCount();
      current?.changed?.(changed);
    },
    alert(alert) {
      showAlertToast(alert);
      refreshAlertCount();
      current?.changed?.({ accounts: [alert.account], workspace: false });
    },
    connection(connected, resumed) {
      session.streamUp = connected;
      showBanner();
      if (resumed) {
        // Events were missed while the stream was down: refetch everything on screen.
        loadMe();
        refreshAlertCount();
        current?.changed?.({ accounts: [], workspace: true, all: true });
      }
    },
  });
}

// While offline, say once in a while that writes are safe and will go out later.
let lastOfflineNotice = 0;
api.onWrite(() => {
  if (session.status?.state !== 'offline' || Date.now() - lastOfflineNotice < 30000) return;
  lastOfflineNotice = Date.now();
  notify('Saved on this device. It will reach the relay when you are back online.', 'info');
});

// ---- Keyboard shortcut: "/" focuses the account search from anywhere ------------------------

function isTyping(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

document.addEventListener('keydown', (event) => {
  if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
  event.preventDefault();
  const search = document.getElementById('search');
  if (search) {
    search.focus();
    search.select();
  } else {
    focusSearchOnMount = true;
    location.hash = '#/accounts';
  }
});

// ---- Boot -------------------------------------------------------------------------------

async function boot() {
  const status = api.getStatus().then(showStatus, notifyError);
  await Promise.allSettled([loadMe(), status]);
  window.addEventListener('hashchange', route);
  route();
  refreshAlertCount();
  refreshAtMidnight();
  startLive();
}

boot();
