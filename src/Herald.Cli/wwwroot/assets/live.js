// What every demo page shares: a subscription that keeps itself alive, its state on screen, and JSON POSTs.

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;

/**
 * An EventSource that comes back by itself.
 *
 * While the hub is away the browser reconnects on its own (readyState CONNECTING) and, with `resume`, sends
 * Last-Event-ID so nothing is missed. When the browser gives up for good (readyState CLOSED: a 401 because the
 * token expired or the hub restarted with another key, a 5xx, a proxy's error page) the stream is created again
 * after an exponential, jittered backoff, through `url()`, which may fetch a fresh token (cookie) first.
 */
export class LiveStream {
  #options;
  #source = null;
  #timer = 0;
  #failures = 0;
  #stopped = true;

  /**
   * @param {object} options
   * @param {(attempt: {lastEventId: string|null, retry: boolean}) => (string|Promise<string>)} options.url
   * @param {Record<string, (event: MessageEvent) => void>} options.events handlers by SSE event type
   * @param {(state: 'connecting'|'open'|'closed', detail?: object) => void} [options.onState]
   * @param {() => void} [options.onOpen] after every (re)connection
   * @param {boolean} [options.resume=true] false: never let the browser resume; start afresh after any error
   */
  constructor(options) {
    this.#options = { resume: true, ...options };
    this.lastEventId = null;
    this.state = 'closed';
  }

  start() {
    this.#stopped = false;
    this.#connect(false);
    return this;
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#source?.close();
    this.#source = null;
    this.#setState('closed');
  }

  async #connect(retry) {
    this.#setState('connecting');
    let url;
    try {
      url = await this.#options.url({ lastEventId: this.lastEventId, retry });
    } catch (error) {
      this.#retryLater(error);
      return;
    }

    if (this.#stopped) {
      return;
    }

    const source = new EventSource(url);
    this.#source = source;
    source.onopen = () => {
      this.#failures = 0;
      this.#setState('open');
      this.#options.onOpen?.();
    };
    source.onerror = () => {
      if (this.#source !== source) {
        return;
      }

      if (source.readyState === EventSource.CLOSED || !this.#options.resume) {
        source.close();
        this.#source = null;
        this.#retryLater();
      } else {
        this.#setState('connecting');
      }
    };
    for (const [type, handler] of Object.entries(this.#options.events)) {
      source.addEventListener(type, event => {
        if (event.lastEventId) {
          this.lastEventId = event.lastEventId;
        }

        handler(event);
      });
    }
  }

  #retryLater(error) {
    if (this.#stopped) {
      return;
    }

    const delay = Math.round(Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.#failures) * (0.75 + Math.random() * 0.5));
    this.#failures++;
    this.#setState('closed', { retryAt: Date.now() + delay, error });
    this.#timer = setTimeout(() => this.#connect(true), delay);
  }

  #setState(state, detail) {
    this.state = state;
    this.#options.onState?.(state, detail);
  }
}

/** Shows a stream's state in a `.conn` badge; returns the `onState` callback for {@link LiveStream}. */
export function connectionBadge(element) {
  const label = element.querySelector('.label');
  let countdown = 0;
  return (state, detail) => {
    clearInterval(countdown);
    element.dataset.state = state;
    if (state === 'open') {
      label.textContent = 'Live';
    } else if (state === 'connecting') {
      label.textContent = 'Connecting…';
    } else if (detail?.retryAt) {
      const tick = () => {
        const seconds = Math.max(0, Math.ceil((detail.retryAt - Date.now()) / 1000));
        label.textContent = `Offline · retry in ${seconds} s`;
      };
      tick();
      countdown = setInterval(tick, 500);
    } else {
      label.textContent = 'Offline';
    }

    element.title = detail?.error ? String(detail.error.message ?? detail.error) : '';
  };
}

/** An error answer of a demo endpoint: its status and the one-line reason the hub gave. */
export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** POSTs JSON and returns the parsed answer; throws {@link HttpError} with the server's reason otherwise. */
export async function postJson(url, body, { token } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) {
    headers.Authorization = `Bearer ${token}`;
  }

  const response = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify(body ?? {}),
    cache: 'no-store',
  });
  const text = await response.text();
  if (!response.ok) {
    const reason = text.trim() || response.statusText;
    throw new HttpError(response.status, response.status === 404 && !text.trim() ? 'the demos are off on this hub' : reason);
  }

  return text ? JSON.parse(text) : null;
}

// How each matcher type is sent: Mercure 1.0's `match` (exact) and `match_urlpattern`, or a 0.x `topic` selector.
const MATCHER_PARAMETERS = { exact: 'match', urlpattern: 'match_urlpattern', topic: 'topic' };

/**
 * The hub URL subscribing to `matchers` ({type, value} as the demo endpoints hand them out), from `lastEventId` on
 * when given (sent as `lastEventIdParameter`: `last_event_id` in Mercure 1.0). Never a token: the browser presents
 * the HttpOnly cookie the demo endpoint set, so no token ends up in a URL, a log or the history.
 */
export function subscribeUrl(hub, matchers, { lastEventId, lastEventIdParameter = 'last_event_id' } = {}) {
  const url = new URL(hub, location.origin);
  for (const { type, value } of matchers) {
    const name = MATCHER_PARAMETERS[type];
    if (!name) {
      throw new Error(`unknown matcher type ${type}`);
    }

    url.searchParams.append(name, value);
  }

  if (lastEventId) {
    url.searchParams.set(lastEventIdParameter, lastEventId);
  }

  return url;
}

/** A short clock time, e.g. 14:03:27. */
export function clock(date) {
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** Creates an element with a class and, optionally, text (always as text, never as HTML). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }

  if (text !== undefined) {
    node.textContent = text;
  }

  return node;
}
