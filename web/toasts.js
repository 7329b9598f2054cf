// Messages that float over the page without blocking it: notices (errors, "saved") in
// `#notices`, and live alert toasts in `#toasts`. Both regions are aria-live in index.html.

import { h } from './dom.js';
import { teamBadge } from './format.js';

const NOTICE_MS = { error: 10000, info: 5000, success: 4000 };
const NOTICE_ICON = { error: '!', info: 'i', success: '✓' };
const ALERT_TOAST_MS = 8000;

/** Shows a short message; `kind` is 'error', 'info' or 'success'. */
export function notify(message, kind = 'info') {
  const region = document.getElementById('notices');
  for (const shown of region.children) {
    if (shown.dataset.message === message) return; // the same failure twice is one notice
  }
  const notice = h('div', { class: `notice notice-${kind}`, dataset: { message } },
    h('span', { class: 'notice-icon', 'aria-hidden': 'true' }, NOTICE_ICON[kind] ?? NOTICE_ICON.info),
    h('p', {}, kind === 'error' ? h('span', { class: 'visually-hidden' }, 'Error: ') : null, message));
  notice.append(closeButton('Dismiss message', () => notice.remove()));
  region.append(notice);
  autoDismiss(notice, NOTICE_MS[kind] ?? NOTICE_MS.info);
}

/** Reports a failed request (ignoring the aborts of requests that were replaced). */
export function notifyError(error) {
  if (error?.name === 'AbortError') return;
  notify(error?.message ?? String(error), 'error');
}

/** A toast for an alert that just arrived by sync, with a link to its account. */
export function showAlertToast(alert) {
  const region = document.getElementById('toasts');
  const href = `#/accounts/${encodeURIComponent(alert.account)}`;
  const kind = alert.kind && alert.kind !== 'note' ? ` (${alert.kind})` : '';
  const toast = h('div', { class: 'toast', dataset: { alertId: alert.id } },
    h('div', { class: 'toast-head' },
      teamBadge(alert.team),
      h('span', {}, h('strong', {}, alert.author), ` on ${alert.account_name ?? 'an account'}${kind}`)),
    h('p', { class: 'toast-text' }, alert.text),
    whyLine(alert),
    h('a', { class: 'toast-link', href, on: { click: () => toast.remove() } },
      `Open ${alert.account_name ?? 'account'}`));
  toast.prepend(h('span', { class: 'visually-hidden' }, 'New alert: '));
  toast.append(closeButton('Dismiss alert', () => toast.remove()));
  region.append(toast);
  autoDismiss(toast, ALERT_TOAST_MS);
}

/** Why the alert is mine, in words: "Why: mentioned you · you follow Acme"; nothing if unknown. */
function whyLine(alert) {
  const reasons = Array.isArray(alert.reasons) ? alert.reasons.filter((r) => typeof r === 'string') : [];
  if (reasons.length === 0) return null;
  const account = alert.account_name ?? 'the account';
  return h('p', { class: 'toast-why' }, h('span', { class: 'muted' }, 'Why: '),
    reasons.map((reason) => reasonWords(reason, account)).join(' · '));
}

/** One reason of an alert record (`direct`, `team`, `mentioned`, `following`, `rule NAME`) in words. */
export function reasonWords(reason, accountName) {
  if (reason.startsWith('rule ')) return `rule ${reason.slice(5)}`;
  switch (reason) {
    case 'direct': return 'sent to you';
    case 'team': return 'sent to your team';
    case 'mentioned': return 'mentioned you';
    case 'following': return `you follow ${accountName}`;
    default: return reason;
  }
}

function closeButton(label, onClick) {
  return h('button', { type: 'button', class: 'close', 'aria-label': label, title: label, on: { click: onClick } }, '×');
}

/** Removes `node` after `ms`, pausing while the pointer or keyboard focus is on it. */
function autoDismiss(node, ms) {
  let remaining = ms;
  let deadline = 0;
  let timer = null;
  const start = () => {
    deadline = Date.now() + remaining;
    timer = setTimeout(() => node.remove(), remaining);
  };
  const pause = () => {
    if (timer === null) return;
    clearTimeout(timer);
    timer = null;
    remaining = Math.max(deadline - Date.now(), 1500); // leave time to read after leaving
  };
  const resume = () => {
    const held = node.matches(':hover') || node.contains(document.activeElement);
    if (timer === null && !held) start();
  };
  node.addEventListener('mouseenter', pause);
  node.addEventListener('focusin', pause);
  node.addEventListener('mouseleave', resume);
  node.addEventListener('focusout', () => setTimeout(resume)); // after focus has moved
  start();
}
