// How values from the API read on the page: money, times, and the vocabulary's labels.

import { h } from './dom.js';

export const TEAMS = ['sales', 'marketing', 'support'];
export const ACCOUNT_STAGES = ['lead', 'prospect', 'customer', 'churned'];
export const ENTRY_KINDS = ['note', 'call', 'email', 'meeting', 'ticket', 'campaign'];

/** "proposal" → "Proposal". */
export function capitalize(word) {
  const text = String(word ?? '');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** How many minor units a currency's major unit has, as a power of ten (EUR 2, JPY 0). */
export function fractionDigits(currency) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits;
  } catch {
    return 2; // an unknown code: cents are the usual guess
  }
}

const moneyFormats = new Map();

/** An amount in minor units, shown in its currency: (2400000, 'EUR') → "€24,000.00". */
export function formatMoney(amount, currency) {
  const code = String(currency ?? '').toUpperCase();
  const major = Number(amount ?? 0) / 10 ** fractionDigits(code);
  try {
    if (!moneyFormats.has(code)) {
      moneyFormats.set(code, new Intl.NumberFormat(undefined, { style: 'currency', currency: code }));
    }
    return moneyFormats.get(code).format(major);
  } catch {
    return `${major.toFixed(2)} ${code}`;
  }
}

/** What a person types ("24000", "99.50", "1,200") in minor units, or null if it is no amount. */
export function parseMoney(text, currency) {
  const cleaned = String(text).replace(/[\s,_']/g, '');
  if (!/^\d+(\.\d+)?$/.test(cleaned)) return null;
  const digits = fractionDigits(currency);
  const [whole, fraction = ''] = cleaned.split('.');
  if (fraction.length > digits) return null;
  return Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || 0);
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });

/** "5 minutes ago" for recent times, a date and time for older ones. */
export function formatWhen(iso, now = Date.now()) {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return String(iso ?? '');
  const seconds = Math.round((time - now) / 1000);
  const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [7, 'day']];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) {
      return unit === 'second' ? relative.format(0, 'second') : relative.format(value, unit);
    }
    value = Math.round(value / size);
  }
  return absolute.format(time);
}

/** A `<time>` element: relative text, the exact time on hover and for assistive tech. */
export function timeElement(iso) {
  const time = Date.parse(iso);
  const exact = Number.isNaN(time) ? String(iso ?? '') : absolute.format(time);
  return h('time', { datetime: iso, title: exact }, formatWhen(iso));
}

/** "2026-12-31" → "Dec 31, 2026" (a calendar date, not shifted by the time zone). */
export function formatDay(date) {
  const time = Date.parse(`${date}T00:00:00Z`);
  return Number.isNaN(time) ? String(date ?? '') : dayFormat.format(time);
}

/** Whether a `YYYY-MM-DD` date is before today (local calendar). */
export function isPast(date) {
  const today = new Date();
  const local = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
  return typeof date === 'string' && date < local;
}

/** A coloured badge naming a team; the colour repeats the word, it never replaces it. */
export function teamBadge(team) {
  const known = TEAMS.includes(team) ? team : 'other';
  return h('span', { class: `badge team team-${known}` }, team ?? 'unknown');
}

/** A badge for an account stage (lead, prospect, customer, churned). */
export function stageBadge(stage) {
  if (!stage) return null;
  const known = ACCOUNT_STAGES.includes(stage) ? stage : 'other';
  return h('span', { class: `badge stage stage-${known}` }, stage);
}

/** An account's value score (`value` of the API: score 0–100 and tier) as a badge. */
export function scoreBadge(value) {
  if (!value) return h('span', { class: 'muted' }, '—');
  return h('span', {
    class: `badge score score-${value.tier}`, dataset: { score: String(value.score), tier: value.tier },
    title: `Recency ${value.recency}, frequency ${value.frequency}, monetary ${value.monetary}`,
  }, `${value.score} ${value.tier}`);
}

/** Splits "@bo, cy  @di" into ["@bo", "@cy", "@di"]. */
export function parseUsers(text) {
  return String(text)
    .split(/[\s,]+/)
    .map((word) => word.trim().replace(/^@+/, ''))
    .filter(Boolean)
    .map((user) => `@${user}`);
}

/** "1 account" / "2 accounts". */
export function plural(count, one, many = `${one}s`) {
  return `${count.toLocaleString()} ${count === 1 ? one : many}`;
}
