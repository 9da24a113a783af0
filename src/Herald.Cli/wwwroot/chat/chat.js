import { LiveStream, connectionBadge, postJson, subscribeUrl, clock, el } from '/assets/live.js';

const $ = selector => document.querySelector(selector);
const SUGGESTED_ROOMS = ['lobby', 'dotnet', 'random'];
const MAX_MESSAGES = 300;

let nickname = '';
let room = '';
let session = null;
let streams = [];

// ---- joining -------------------------------------------------------------------------------------------

const params = new URLSearchParams(location.search);
$('#room').value = params.get('room') || 'lobby';
$('#nickname').value = localStorage.getItem('herald.nickname') || '';
for (const chip of document.querySelectorAll('#room-chips .chip')) {
  chip.addEventListener('click', () => { $('#room').value = chip.dataset.room; });
}

$('#join-form').addEventListener('submit', async event => {
  event.preventDefault();
  const button = $('#join');
  button.disabled = true;
  $('#join-error').textContent = '';
  try {
    await enter($('#room').value.trim().toLowerCase(), $('#nickname').value);
  } catch (e) {
    $('#join-error').textContent = e.message;
  } finally {
    button.disabled = false;
  }
});

$('#room-form').addEventListener('submit', async event => {
  event.preventDefault();
  const input = $('#other-room');
  const name = input.value.trim().toLowerCase();
  if (!name || name === room) {
    return;
  }

  try {
    await enter(name, nickname);
    input.value = '';
  } catch (e) {
    $('#send-error').textContent = e.message;
  }
});

/** Joins a room: the demo endpoint sets a subscribe-only token (an HttpOnly cookie), then the room's streams open. */
async function enter(newRoom, newNickname) {
  const joined = await postJson(`/demo/chat/${encodeURIComponent(newRoom)}/join`, { nickname: newNickname });
  for (const stream of streams) {
    stream.stop();
  }

  session = joined;
  room = joined.room;
  nickname = joined.nickname;
  localStorage.setItem('herald.nickname', nickname);
  history.replaceState(null, '', `?room=${encodeURIComponent(room)}`);
  document.title = `#${room} · Chat · Herald`;

  $('#join-screen').classList.add('hidden');
  $('#chat-screen').classList.remove('hidden');
  $('#connection').classList.remove('hidden');
  $('#room-title').textContent = `#${room}`;
  $('#room-topic').textContent = joined.topic;
  $('#text').placeholder = `Message #${room} as ${nickname}`;
  $('#text').maxLength = joined.maxLength;
  renderRooms();
  resetMessages();
  online.clear();
  renderOnline();
  $('#presence-off').classList.toggle('hidden', joined.presence);

  streams = [messagesStream()];
  if (joined.presence) {
    streams.push(presenceStream());
  }

  for (const stream of streams) {
    stream.start();
  }

  $('#text').focus();
}

// A stream the browser gave up on (e.g. a 401: the token expired, or the hub restarted with another key) comes
// back through here: both streams share one fresh join rather than asking twice.
let refreshing = null;
function refreshSession() {
  const forRoom = room;
  refreshing ??= postJson(`/demo/chat/${encodeURIComponent(room)}/join`, { nickname })
    .then(fresh => {
      if (forRoom === room) {
        session = fresh;
      }

      return session;
    })
    .finally(() => setTimeout(() => { refreshing = null; }, 2000));
  return refreshing;
}

// ---- messages --------------------------------------------------------------------------------------------

const seen = new Set();

function messagesStream() {
  const mine = session;
  return new LiveStream({
    // The first connection asks for the room's history from the start; a later one resumes after the last
    // message seen (the browser sends Last-Event-ID itself when it reconnects on its own).
    async url({ lastEventId, retry }) {
      const current = retry ? await refreshSession() : mine;
      return subscribeUrl(current.hub, current.messages, { lastEventId: lastEventId ?? 'earliest', lastEventIdParameter: current.lastEventIdParameter });
    },
    events: { message: showMessage },
    onState: connectionBadge($('#connection')),
  });
}

function resetMessages() {
  seen.clear();
  const list = $('#messages');
  list.replaceChildren(el('li', 'empty', `No messages in #${room} yet. Say hello!`));
}

function showMessage(event) {
  if (event.lastEventId && seen.has(event.lastEventId)) {
    return;
  }

  seen.add(event.lastEventId);
  let message;
  try {
    message = JSON.parse(event.data);
  } catch {
    return;
  }

  const item = el('li', 'message');
  item.dataset.id = event.lastEventId;
  if (message.nickname === nickname) {
    item.classList.add('mine');
  }

  const body = el('div');
  const head = el('div', 'head');
  const nick = el('span', 'nick', message.nickname);
  nick.style.color = colorOf(message.nickname);
  head.append(nick, el('span', 'time', clock(new Date(message.sentAt))));

  // Text content, never HTML: whatever anyone typed stays text.
  body.append(head, el('div', 'text', message.text));
  item.append(avatar(message.nickname), body);
  append(item);
}

function system(text) {
  append(el('li', 'system', text));
}

function append(item) {
  const list = $('#messages');
  list.querySelector('.empty')?.remove();
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.append(item);
  while (list.children.length > MAX_MESSAGES) {
    list.firstElementChild.remove();
  }

  if (atBottom || item.classList.contains('mine')) {
    list.scrollTop = list.scrollHeight;
  }
}

// ---- presence ----------------------------------------------------------------------------------------------

const online = new Map(); // subscriber id → nickname
let buffered = null; // presence events that arrive while the snapshot is on its way

function presenceStream() {
  const mine = session;
  const list = $('#online');
  return new LiveStream({
    // No resuming: each connection starts live, and the snapshot taken after it opens is the truth.
    resume: false,
    async url({ retry }) {
      const current = retry ? await refreshSession() : mine;
      return subscribeUrl(current.hub, current.subscriptionEvents);
    },
    // Mercure 1.0 sends subscription events as `event: mercure`; 0.x as plain messages.
    events: { message: presenceEvent, mercure: presenceEvent },
    onOpen: loadSnapshot,
    onState: state => list.classList.toggle('stale', state !== 'open'),
  });
}

function presenceEvent(event) {
  const subscription = JSON.parse(event.data);
  if (buffered) {
    buffered.push(subscription);
  } else {
    applyPresence(subscription, true);
  }
}

/**
 * The subscriptions API lists who is in the room now. The event stream was opened first, so applying the events
 * that arrived meanwhile on top of the snapshot, in order, loses nothing and leaves no one behind.
 */
async function loadSnapshot() {
  buffered = [];
  const forRoom = room;
  try {
    // Same origin: the browser presents the token cookie, scoped to the hub's path.
    const response = await fetch(session.subscriptions, { credentials: 'same-origin', cache: 'no-store' });
    if (response.ok) {
      const body = await response.json();
      if (forRoom !== room) {
        return;
      }

      online.clear();
      for (const s of body.subscriptions) {
        online.set(s.subscriber, nicknameOf(s));
      }
    }
  } catch {
    // Keep the list we had; the stream's events still update it.
  } finally {
    const pending = buffered ?? [];
    buffered = null;
    for (const s of pending) {
      applyPresence(s, false);
    }

    renderOnline();
  }
}

function applyPresence(subscription, announce) {
  // A 1.0 subscription names its matcher `match`; a 0.x one its selector `topic`.
  if ((subscription.match ?? subscription.topic) !== session?.topic) {
    return;
  }

  const who = nicknameOf(subscription);
  const wasOnline = isOnline(who);
  if (subscription.active) {
    online.set(subscription.subscriber, who);
  } else {
    online.delete(subscription.subscriber);
  }

  if (announce && who !== nickname) {
    if (subscription.active && !wasOnline) {
      system(`${who} joined`);
    } else if (!subscription.active && wasOnline && !isOnline(who)) {
      system(`${who} left`);
    }
  }

  renderOnline();
}

const nicknameOf = subscription => subscription.payload?.nickname ?? 'anonymous';
const isOnline = who => [...online.values()].includes(who);

function renderOnline() {
  const names = [...new Set(online.values())].sort((a, b) => (a === nickname ? -1 : b === nickname ? 1 : a.localeCompare(b)));
  const list = $('#online');
  list.replaceChildren(...names.map(name => {
    const item = el('li');
    item.dataset.nickname = name;
    item.append(avatar(name), el('span', 'name', name));
    if (name === nickname) {
      item.append(el('span', 'you', 'you'));
    }

    return item;
  }));
  $('#online-count').textContent = names.length ? `· ${names.length}` : '';
}

// ---- rooms, composer ------------------------------------------------------------------------------------------

function renderRooms() {
  const rooms = SUGGESTED_ROOMS.includes(room) ? SUGGESTED_ROOMS : [...SUGGESTED_ROOMS, room];
  $('#rooms').replaceChildren(...rooms.map(name => {
    const item = el('li');
    const link = el('a', '', `# ${name}`);
    link.href = `?room=${encodeURIComponent(name)}`;
    link.setAttribute('aria-current', String(name === room));
    link.addEventListener('click', event => {
      event.preventDefault();
      if (name !== room) {
        enter(name, nickname).catch(e => { $('#send-error').textContent = e.message; });
      }
    });
    item.append(link);
    return item;
  }));
}

const text = $('#text');
const fit = () => {
  text.style.height = 'auto';
  text.style.height = `${Math.min(text.scrollHeight + 2, 160)}px`;
  $('#counter').textContent = `${text.value.length}/${text.maxLength}`;
};
text.addEventListener('input', fit);
text.addEventListener('keydown', event => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('#send-form').requestSubmit();
  }
});

$('#send-form').addEventListener('submit', async event => {
  event.preventDefault();
  if (!text.value.trim()) {
    return;
  }

  const button = $('#send');
  const error = $('#send-error');
  error.textContent = '';
  button.disabled = true;
  try {
    await sendMessage(text.value);
    text.value = '';
    fit();
  } catch (e) {
    error.textContent = e.message;
  } finally {
    button.disabled = false;
    text.focus();
  }
});

/**
 * Posts a message with the join's send token, which binds our nickname. The hub's passes last an hour and do not
 * survive a restart: on a 401 join again (once) for a fresh one, then send.
 */
async function sendMessage(value) {
  const url = `/demo/chat/${encodeURIComponent(room)}/messages`;
  try {
    await postJson(url, { nickname, text: value }, { token: session.sendToken });
  } catch (e) {
    if (e.status !== 401) {
      throw e;
    }

    await refreshSession();
    await postJson(url, { nickname, text: value }, { token: session.sendToken });
  }
}

// ---- looks ------------------------------------------------------------------------------------------------------

const PALETTE = ['#4f46e5', '#0891b2', '#db2777', '#059669', '#d97706', '#7c3aed', '#dc2626', '#2563eb', '#0d9488', '#9333ea'];

function colorOf(name) {
  let hash = 0x811c9dc5; // FNV-1a: short names spread well over the palette
  for (const c of name) {
    hash = Math.imul(hash ^ c.codePointAt(0), 16777619) >>> 0;
  }

  return PALETTE[hash % PALETTE.length];
}

function avatar(name) {
  const node = el('span', 'avatar', [...name][0] ?? '?');
  node.style.background = colorOf(name);
  return node;
}

if (params.get('room') && $('#nickname').value) {
  enter(params.get('room'), $('#nickname').value).catch(e => { $('#join-error').textContent = e.message; });
}
