// The local node's JSON API (docs/api.md), one function per request.
//
// Paths are relative ("api/…") so the pages work wherever the node serves them. Every failure
// becomes an `ApiError` whose message can be shown to a person as it is.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'ApiError';
    this.status = status; // 0 when the local node could not be reached at all
  }
}

const writeListeners = new Set();

/** Calls `listener()` after every successful write (used to say "saved, will sync later"). */
export function onWrite(listener) {
  writeListeners.add(listener);
}

async function request(method, path, body, signal) {
  const init = { method, signal, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError('Could not reach the local Rapport process. Is `rapport ui` running?', 0);
  }
  const data = await readJson(response);
  if (!response.ok) {
    const message = data && typeof data.error === 'string' ? data.error : `The request failed (${response.status} ${response.statusText}).`;
    throw new ApiError(message, response.status);
  }
  if (method !== 'GET') for (const listener of writeListeners) listener();
  return data;
}

async function readJson(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    if (response.ok) throw new ApiError('The local node answered with something that is not JSON.', response.status);
    return null;
  }
}

const get = (path, signal) => request('GET', path, undefined, signal);
const post = (path, body = {}) => request('POST', path, body);
const remove = (path) => request('DELETE', path);
const id = (value) => encodeURIComponent(value);

/** Builds a query string, leaving out empty values. */
function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== '' && value != null) search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const EVENTS_URL = 'api/events';

export const getMe = () => get('api/me');
export const getStatus = () => get('api/status');

export const listAccounts = (params, signal) => get(`api/accounts${query(params)}`, signal);
export const getAccount = (account, signal) => get(`api/accounts/${id(account)}`, signal);
export const getHistory = (account, limit, signal) =>
  get(`api/accounts/${id(account)}/history${query({ limit })}`, signal);
export const createAccount = (fields) => post('api/accounts', fields);
export const setFields = (account, fields) => post(`api/accounts/${id(account)}/fields`, { fields });
export const followAccount = (account) => post(`api/accounts/${id(account)}/follow`, {});
export const unfollowAccount = (account) => post(`api/accounts/${id(account)}/unfollow`, {});
export const getDuplicates = (signal) => get('api/duplicates', signal);
export const mergeAccount = (account, into) => post(`api/accounts/${id(account)}/merge`, { into });
export const mergeContact = (contact, into) => post(`api/contacts/${id(contact)}/merge`, { into });

export const addContact = (account, contact) => post(`api/accounts/${id(account)}/contacts`, contact);
export const addEntry = (account, entry) => post(`api/accounts/${id(account)}/entries`, entry);
export const addDeal = (account, deal) => post(`api/accounts/${id(account)}/deals`, deal);
export const setDealStage = (account, deal, stage) =>
  post(`api/accounts/${id(account)}/deals/${id(deal)}/stage`, { stage });
export const addTask = (account, task) => post(`api/accounts/${id(account)}/tasks`, task);
export const completeTask = (account, task) => post(`api/accounts/${id(account)}/tasks/${id(task)}/done`);

export const listAlerts = (all = false, signal) => get(`api/alerts?all=${all}`, signal);
export const listReminders = (signal) => get('api/reminders', signal);
export const ackAlert = (alert) => post(`api/alerts/${id(alert)}/ack`);
export const ackAllAlerts = () => post('api/alerts/ack');

export const getPipeline = (signal) => get('api/pipeline', signal);
export const getDashboard = (signal, team = '') => get(`api/dashboard${query({ team })}`, signal);
/** One report (`pipeline`, `win-rate`, `interactions`, `attention`), over `days` when given. */
export const getReport = (report, days, signal) => get(`api/reports/${id(report)}${query({ days })}`, signal);

export const listSegments = (signal) => get('api/segments', signal);
export const addSegment = (name, filter) => post('api/segments', { name, filter });
/** Deletes every segment named `name` (two when two replicas saved it at once). */
export const removeSegment = (name) => post(`api/segments/${id(name)}/remove`);

export const listFields = (signal) => get('api/fields', signal);
export const defineField = (definition) => post('api/fields', definition);
export const removeField = (name) => remove(`api/fields/${id(name)}`);
