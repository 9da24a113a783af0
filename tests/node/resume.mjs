// Subscribes to a Herald (Mercure) hub with the npm 'eventsource' client and prints what happens as JSON lines,
// so a test can check that the third-party client resumes with Last-Event-ID after the hub ends the stream.
//
//   node resume.mjs <hub-url> <topic> <count>      (HERALD_HUB, HERALD_TOPIC, HERALD_COUNT, HERALD_TOKEN also work)
//
// stdout, one JSON object per line:
//   {"event":"connect","n":1,"lastEventId":null}   a request is sent (lastEventId: the Last-Event-ID header it carries)
//   {"event":"open","n":1}                          the stream is open (the hub has registered the subscriber)
//   {"event":"message","id":"urn:uuid:…","data":"…"}
//   {"event":"error"}                               the stream ended; the client will reconnect
//   {"ids":["…", …]}                                last line: every id received, in order, once <count> have arrived
//
// Before each reconnection the script waits for a line on stdin, so the test can publish while it is away and
// knows those updates can only arrive through the hub's history. It exits 0 after the ids line, 1 on a fatal
// error (the client gave up) and 2 after 120 s without finishing (a watchdog, far beyond what a loaded machine needs).
import { EventSource } from 'eventsource';
import { createInterface } from 'node:readline';

const [hub = process.env.HERALD_HUB, topic = process.env.HERALD_TOPIC, countText = process.env.HERALD_COUNT] = process.argv.slice(2);
const token = process.env.HERALD_TOKEN;
const count = Number.parseInt(countText ?? '', 10);
if (!hub || !topic || !(count > 0)) {
  console.error('usage: node resume.mjs <hub-url> <topic> <count>  (token in HERALD_TOKEN)');
  process.exit(64);
}

const print = value => process.stdout.write(JSON.stringify(value) + '\n');

const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
let connections = 0;

// The client's documented extension point for requests: add the token, report the Last-Event-ID it resumes from,
// and hold reconnections until the test says go.
const fetchWithToken = async (url, init) => {
  const n = ++connections;
  const headers = { ...init.headers };
  print({ event: 'connect', n, lastEventId: headers['Last-Event-ID'] ?? null });
  if (n > 1) {
    const go = await stdinLines.next();
    if (go.done) {
      process.exit(1);
    }
  }

  if (token) {
    headers.Authorization = `Bearer ${token}`;
  }

  return fetch(url, { ...init, headers });
};

const url = new URL(hub);
url.searchParams.append('topic', topic);
const source = new EventSource(url, { fetch: fetchWithToken });
const ids = [];

const giveUp = setTimeout(() => {
  console.error(`resume.mjs: only ${ids.length} of ${count} updates within 120 s`);
  process.exit(2);
}, 120_000);

source.addEventListener('open', () => print({ event: 'open', n: connections }));
source.addEventListener('message', event => {
  ids.push(event.lastEventId);
  print({ event: 'message', id: event.lastEventId, data: event.data });
  if (ids.length === count) {
    source.close();
    clearTimeout(giveUp);
    print({ ids });
    process.exit(0);
  }
});
source.addEventListener('error', event => {
  if (source.readyState === EventSource.CLOSED) {
    console.error(`resume.mjs: the client gave up: ${event.message ?? 'no reason'} (status ${event.code ?? 'none'})`);
    process.exit(1);
  }

  print({ event: 'error' });
});
