// Herald's debug page: the browser calls the hub's ordinary endpoints with the token pasted into the page.
//
// Tokens live in this module's inputs only: never in storage, a URL or a cookie. Every request is sent with
// `credentials: 'omit'`, so a cookie the demo pages set on this origin can never lend the page rights the pasted token
// does not have. Streams are read with fetch, not EventSource, because only fetch can send `Authorization: Bearer`.

const MAX_SHOWN_UPDATES = 500;
const MAX_REASON_LENGTH = 300;

// The hub is this page's parent path (the page lives at {hub}/ui/), so nothing about the hub is rendered into it.
const hubUrl = new URL('..', location.href).href.replace(/\/$/, '');

const $ = id => document.getElementById(id);

// The demos' helpers (wwwroot/assets) are not served without --demo, so the page brings the one it needs.
/** An element with a class and text (set as text, never parsed as HTML). */
const el = (tag, className = '', text = '') => Object.assign(document.createElement(tag), { className, textContent: text });

/** `Authorization` for a pasted token (surrounding spaces and a pasted "Bearer " prefix dropped); none when empty. */
function authorization(token) {
  const value = token.trim().replace(/^Bearer\s+/i, '');
  return value ? { Authorization: `Bearer ${value}` } : {};
}

/**
 * What a pasted token says about itself, read here and checked by nobody (only the hub verifies it): its generation,
 * issuer, audience and expiry, the usual reasons a hub refuses a token. Nothing is sent anywhere to read it.
 */
function describeToken(token) {
  const value = token.trim().replace(/^Bearer\s+/i, '');
  if (!value) {
    return '';
  }

  let claims;
  try {
    const payload = value.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload), c => c.charCodeAt(0))));
  } catch {
    return 'Not a JWT this page can read (the hub will say what it makes of it).';
  }

  const parts = [claims.authorization_details ? 'Mercure 1.0 token' : claims.mercure ? 'Mercure 0.x token' : 'a JWT with no Mercure claim'];
  if (claims.iss) {
    parts.push(`iss ${claims.iss}`);
  }

  if (claims.aud) {
    parts.push(`aud ${[].concat(claims.aud).join(' ')}`);
  }

  if (typeof claims.exp === 'number') {
    const minutes = Math.round((claims.exp * 1000 - Date.now()) / 60000);
    parts.push(minutes < 0 ? `expired ${-minutes} min ago` : `expires in ${minutes} min`);
  }

  return parts.join(' · ');
}

/**
 * The hub's one-line reason for an error answer: RFC 6750's `error_description` when the challenge has one, else the
 * first line of the body (the hub answers one line of text), with the challenge's `error` code in front when given.
 */
async function describeError(response) {
  const challenge = response.headers.get('WWW-Authenticate') ?? '';
  const description = /error_description="((?:[^"\\]|\\.)*)"/i.exec(challenge)?.[1]?.replace(/\\(.)/g, '$1');
  const code = /(?:^|[\s,])error="((?:[^"\\]|\\.)*)"/i.exec(challenge)?.[1];
  let reason = description;
  if (!reason) {
    const body = await response.text().catch(() => '');
    reason = body.split(/\r?\n/).find(line => line.trim())?.trim() ?? '';
  }

  if (reason.length > MAX_REASON_LENGTH) {
    reason = reason.slice(0, MAX_REASON_LENGTH) + '…';
  }

  const head = `${response.status}${response.statusText ? ' ' + response.statusText : ''}`;
  const detail = [code, reason].filter(Boolean).join(': ');
  return detail ? `${head} — ${detail}` : head;
}

// ---- Subscribe -------------------------------------------------------------------------------------------------

const matchers = $('matchers');

function addMatcher(type = 'match_urlpattern', value = '') {
  const row = $('matcher-row').content.firstElementChild.cloneNode(true);
  row.querySelector('.matcher-type').value = type;
  row.querySelector('.matcher-value').value = value;
  row.querySelector('.remove').addEventListener('click', () => {
    row.remove();
    if (!matchers.children.length) {
      addMatcher();
    }
  });
  matchers.append(row);
  return row;
}

function currentMatchers() {
  return [...matchers.querySelectorAll('.matcher')]
    .map(row => ({ type: row.querySelector('.matcher-type').value, value: row.querySelector('.matcher-value').value.trim() }))
    .filter(m => m.value);
}

function setState(state, text) {
  const badge = $('sub-state');
  badge.dataset.state = state;
  badge.textContent = text;
  $('subscribe').disabled = state === 'connecting' || state === 'open';
  $('unsubscribe').disabled = !(state === 'connecting' || state === 'open');
}

let stream = null;

async function subscribe() {
  $('sub-error').textContent = '';
  const chosen = currentMatchers();
  if (!chosen.length) {
    $('sub-error').textContent = 'Add at least one matcher.';
    return;
  }

  const url = new URL(hubUrl);
  for (const { type, value } of chosen) {
    url.searchParams.append(type, value);
  }

  const headers = { Accept: 'text/event-stream', ...authorization($('sub-token').value) };
  const lastEventId = $('last-event-id').value.trim();
  if (lastEventId) {
    // The header works for Mercure 1.0 and 0.x alike, and wins over both query parameters.
    headers['Last-Event-ID'] = lastEventId;
  }

  const controller = new AbortController();
  stream = controller;
  setState('connecting', 'Connecting…');
  let response;
  try {
    response = await fetch(url, { headers, credentials: 'omit', cache: 'no-store', signal: controller.signal });
  } catch (error) {
    if (stream === controller) {
      stream = null;
      setState('error', 'Failed');
      $('sub-error').textContent = `The request failed (hub unreachable, or a header this browser will not send): ${error.message}`;
    }

    return;
  }

  if (!response.ok || !response.body) {
    stream = null;
    setState('error', 'Refused');
    $('sub-error').textContent = await describeError(response);
    return;
  }

  setState('open', 'Subscribed');
  try {
    await readEvents(response.body, controller.signal, showUpdate);
    if (stream === controller) {
      setState('closed', 'Closed by the hub');
    }
  } catch (error) {
    if (stream === controller) {
      setState('error', 'Cut');
      $('sub-error').textContent = `The stream broke: ${error.message}`;
    }
  } finally {
    if (stream === controller) {
      stream = null;
    }
  }
}

function unsubscribe() {
  const controller = stream;
  stream = null;
  controller?.abort();
  setState('closed', 'Not subscribed');
}

/**
 * Reads a text/event-stream body (the WHATWG HTML "event stream interpretation"): lines end in LF, CR or CRLF,
 * `data` lines join with LF, a blank line dispatches, comments (heartbeats) are skipped.
 */
async function readEvents(body, signal, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  signal.addEventListener('abort', () => reader.cancel().catch(() => {}), { once: true });
  let buffer = '';
  let data = [];
  let type = '';
  let id = null;
  let retry = null;
  let carriageReturn = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return;
    }

    let text = value;
    if (carriageReturn && text.startsWith('\n')) {
      text = text.slice(1);
    }

    carriageReturn = text.endsWith('\r');
    buffer += text;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === '') {
        if (data.length) {
          onEvent({ id, type: type || 'message', data: data.join('\n'), retry });
        }

        data = [];
        type = '';
        retry = null;
        continue;
      }

      if (line.startsWith(':')) {
        continue;
      }

      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let fieldValue = colon < 0 ? '' : line.slice(colon + 1);
      if (fieldValue.startsWith(' ')) {
        fieldValue = fieldValue.slice(1);
      }

      if (field === 'data') {
        data.push(fieldValue);
      } else if (field === 'event') {
        type = fieldValue;
      } else if (field === 'id' && !fieldValue.includes('\0')) {
        id = fieldValue;
      } else if (field === 'retry' && /^\d+$/.test(fieldValue)) {
        retry = fieldValue;
      }
    }
  }
}

let received = 0;

function showUpdate(update) {
  received++;
  $('update-count').textContent = String(received);
  if (update.id) {
    // Resuming from here is one click: the next subscription replays what came after the last update seen.
    $('last-event-id').value = update.id;
  }

  const item = el('li', 'update');
  const head = el('div', 'update-head');
  head.append(el('span', 'time', new Date().toLocaleTimeString([], { hour12: false })));
  head.append(el('span', 'type', update.type));
  head.append(el('code', 'id', update.id ?? '(no id)'));
  if (update.retry !== null) {
    head.append(el('span', 'retry', `retry ${update.retry} ms`));
  }

  const topics = topicsOf(update);
  if (topics) {
    head.append(el('span', 'topics', topics));
  }

  item.append(head, el('pre', 'data', update.data));
  const list = $('updates');
  list.prepend(item);
  while (list.children.length > MAX_SHOWN_UPDATES) {
    list.lastElementChild.remove();
  }
}

/** The topic a Mercure subscription event names (1.0 `id`, 0.x `@id`/`id`); ordinary updates carry none. */
function topicsOf(update) {
  if (update.type !== 'mercure' && !update.data.startsWith('{"@context"')) {
    return '';
  }

  try {
    const document = JSON.parse(update.data);
    return typeof document.id === 'string' ? document.id : '';
  } catch {
    return '';
  }
}

// ---- Publish ---------------------------------------------------------------------------------------------------

async function publish() {
  const result = $('pub-result');
  result.textContent = 'Publishing…';
  result.dataset.outcome = '';
  const form = new URLSearchParams();
  for (const topic of $('pub-topics').value.split(/\r?\n/).map(t => t.trim()).filter(Boolean)) {
    form.append('topic', topic);
  }

  form.append('data', $('pub-data').value);
  for (const [name, id] of [['id', 'pub-id'], ['type', 'pub-type'], ['retry', 'pub-retry']]) {
    const value = $(id).value.trim();
    if (value) {
      form.append(name, value);
    }
  }

  if ($('pub-private').checked) {
    form.append('private', 'on');
  }

  try {
    const response = await fetch(hubUrl, {
      method: 'POST',
      headers: authorization($('pub-token').value),
      body: form,
      credentials: 'omit',
      cache: 'no-store',
    });
    if (response.ok) {
      const id = (await response.text()).trim();
      result.dataset.outcome = 'ok';
      result.textContent = `${response.status} — published as ${id}`;
    } else {
      result.dataset.outcome = 'error';
      result.textContent = await describeError(response);
    }
  } catch (error) {
    result.dataset.outcome = 'error';
    result.textContent = `The request failed (hub unreachable, or a header this browser will not send): ${error.message}`;
  }
}

// ---- Subscriptions ---------------------------------------------------------------------------------------------

/** Which document to ask for: the one of the matchers' generation unless the user chose. */
function wantsLegacy() {
  const format = $('subs-format').value;
  if (format !== 'auto') {
    return format === 'legacy';
  }

  const chosen = currentMatchers();
  return chosen.length > 0 && chosen.every(m => m.type === 'topic');
}

async function refreshSubscriptions() {
  const message = $('subs-message');
  const table = $('subs-table');
  const rows = $('subs-list');
  message.textContent = 'Loading…';
  message.dataset.outcome = '';
  const accept = wantsLegacy() ? 'application/ld+json' : 'application/json';
  let response;
  try {
    response = await fetch(`${hubUrl}/subscriptions`, {
      headers: { Accept: accept, ...authorization($('sub-token').value) },
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    message.textContent = `The request failed (hub unreachable, or a header this browser will not send): ${error.message}`;
    return;
  }

  if (!response.ok) {
    table.classList.add('hidden');
    rows.replaceChildren();
    message.dataset.outcome = 'error';
    const reason = await describeError(response);
    message.textContent = response.status === 404
      ? `Presence is off on this hub, so it has no subscriptions API (start it with --subscriptions). ${reason}`
      : reason;
    return;
  }

  let document;
  try {
    document = await response.json();
  } catch {
    message.textContent = 'The hub answered something that is not JSON.';
    return;
  }

  const subscriptions = Array.isArray(document.subscriptions) ? document.subscriptions : [];
  rows.replaceChildren(...subscriptions.map(subscriptionRow));
  table.classList.toggle('hidden', subscriptions.length === 0);
  message.dataset.outcome = 'ok';
  message.textContent = subscriptions.length === 0
    ? 'No active subscription of this generation.'
    : `${subscriptions.length} active subscription${subscriptions.length === 1 ? '' : 's'} (as of event ${document.last_event_id ?? document.lastEventID ?? '?'}).`;
}

function subscriptionRow(subscription) {
  const row = el('tr', 'subscription');
  const matcher = subscription.match_type
    ? `${subscription.match_type}: ${subscription.match}`
    : `topic: ${subscription.topic}`;
  row.append(el('td', 'mono matcher-cell', matcher));
  row.append(el('td', 'mono', String(subscription.subscriber ?? '')));
  row.append(el('td', '', subscription.active === false ? 'no' : 'yes'));
  row.append(el('td', 'mono', subscription.payload === undefined ? '' : JSON.stringify(subscription.payload)));
  return row;
}

// ---- Wiring ----------------------------------------------------------------------------------------------------

$('hub-url').textContent = hubUrl;
for (const [input, info] of [['sub-token', 'sub-token-info'], ['pub-token', 'pub-token-info']]) {
  $(input).addEventListener('input', () => {
    $(info).textContent = describeToken($(input).value);
  });
}

addMatcher();
$('add-matcher').addEventListener('click', () => addMatcher().querySelector('.matcher-value').focus());
$('subscribe-form').addEventListener('submit', event => {
  event.preventDefault();
  subscribe();
});
$('unsubscribe').addEventListener('click', unsubscribe);
$('publish-form').addEventListener('submit', event => {
  event.preventDefault();
  publish();
});
$('clear-updates').addEventListener('click', () => {
  received = 0;
  $('update-count').textContent = '0';
  $('updates').replaceChildren();
});
$('subs-refresh').addEventListener('click', refreshSubscriptions);
document.body.dataset.ready = 'true';
