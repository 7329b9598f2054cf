// The live stream from the local node (`GET /api/events`, server-sent events).
//
// `EventSource` reconnects by itself after a dropped connection; when the node answers a
// reconnect with an error it gives up (readyState CLOSED), so we open a new one after a pause.

import { EVENTS_URL } from './api.js';

const RETRY_MS = 3000;

/**
 * Subscribes to the stream. Handlers:
 * - `status(status)`, `changed({ accounts, workspace })`, `alert(alert)`: one per event type;
 * - `connection(connected, resumed)`: the stream opened or failed; `resumed` is true when it
 *   opened after a failure, so events may have been missed and everything shown is suspect.
 */
export function subscribe(handlers) {
  let lost = false;

  const open = () => {
    const source = new EventSource(EVENTS_URL);
    source.addEventListener('open', () => {
      handlers.connection(true, lost);
      lost = false;
    });
    source.addEventListener('error', () => {
      lost = true;
      handlers.connection(false, false);
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(open, RETRY_MS);
      }
    });
    for (const type of ['status', 'changed', 'alert']) {
      source.addEventListener(type, (message) => {
        let data;
        try {
          data = JSON.parse(message.data);
        } catch {
          return; // a malformed event is not worth breaking the page for
        }
        handlers[type](data);
      });
    }
  };

  open();
}
