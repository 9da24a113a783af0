import { LineChart } from '/assets/chart.js';
import { LiveStream, connectionBadge, postJson, subscribeUrl, clock, el } from '/assets/live.js';

const $ = selector => document.querySelector(selector);

const number = value => value >= 100 ? Math.round(value).toLocaleString('en') : (Math.round(value * 10) / 10).toLocaleString('en');
const rate = value => number(value);
const micros = value => value >= 1000 ? `${number(value / 1000)} ms` : `${Math.round(value)} µs`;
const bytes = value => {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }

  return `${value >= 100 || Number.isInteger(value) ? Math.round(value) : value.toFixed(1)} ${units[i]}`;
};
const percent = value => `${number(value)}%`;
const duration = seconds => {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${s} s` : `${s} s`;
};

function chart(name, series, format, minMax, unit) {
  const legend = $(`#legend-${name}`);
  const values = series.map(s => {
    const item = el('span');
    const swatch = el('i');
    swatch.style.background = `var(${s.color})`;
    const value = el('b', '', '–');
    item.append(swatch, `${s.label} `, value);
    legend.append(item);
    return value;
  });
  const line = new LineChart($(`#chart-${name}`), { series, format, minMax, unit });
  return (time, points) => {
    line.push(time, points);
    points.forEach((p, i) => { values[i].textContent = format(p); });
  };
}

const charts = {
  throughput: chart('throughput', [
    { label: 'deliveries', color: '--series-1' },
    { label: 'in', color: '--series-2' },
    { label: 'out', color: '--series-3' },
  ], value => `${number(value)}/s`, 2),
  latency: chart('latency', [
    { label: 'p99', color: '--series-1' },
    { label: 'p50', color: '--series-2' },
  ], micros, 10),
  subscribers: chart('subscribers', [{ label: 'connected', color: '--series-4' }], number, 2),
  cpu: chart('cpu', [{ label: 'process', color: '--series-3' }], percent, 5),
  memory: chart('memory', [
    { label: 'working set', color: '--series-1' },
    { label: 'heap', color: '--series-2' },
  ], bytes, 1024 * 1024, 1024 * 1024),
};

function setTile(name, value, unit, sub) {
  const tile = document.querySelector(`[data-figure="${name}"]`);
  const valueNode = tile.querySelector('.value');
  valueNode.textContent = value;
  if (unit) {
    valueNode.append(el('span', 'unit', unit));
  }

  if (sub !== undefined) {
    tile.querySelector('.sub').textContent = sub;
  }
}

const splitUnit = text => {
  const i = text.lastIndexOf(' ');
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
};

let samples = 0;
function showFigures(event) {
  const f = JSON.parse(event.data);
  samples++;
  document.body.dataset.samples = String(samples);
  setTile('subscribers', number(f.subscribers));
  setTile('updatesIn', rate(f.updatesIn), '/s');
  setTile('updatesOut', rate(f.updatesOut), '/s');
  setTile('deliveries', rate(f.deliveries), '/s');
  setTile('p50', ...splitUnit(micros(f.p50Micros)));
  setTile('p99', ...splitUnit(micros(f.p99Micros)));
  setTile('memory', ...splitUnit(bytes(f.workingSetBytes)), `heap ${bytes(f.heapBytes)}`);
  setTile('cpu', number(f.cpuPercent), '%', `of ${f.cores} core${f.cores === 1 ? '' : 's'}`);
  $('#uptime').textContent = duration(f.uptimeSeconds);
  $('#heap').textContent = `${bytes(f.heapBytes)} · ${bytes(f.allocatedBytesPerSecond)}/s allocated`;
  $('#last-sample').textContent = `Last figures ${clock(new Date(f.time))}`;

  charts.throughput(f.time, [f.deliveries, f.updatesIn, f.updatesOut]);
  charts.latency(f.time, [f.p99Micros, f.p50Micros]);
  charts.subscribers(f.time, [f.subscribers]);
  charts.cpu(f.time, [f.cpuPercent]);
  charts.memory(f.time, [f.workingSetBytes, f.heapBytes]);
}

// Test updates: the POST answer (its id) and the update itself race; whichever comes second shows the round trip.
const sent = new Map();
const arrived = new Map();
function showArrival(event) {
  const update = JSON.parse(event.data);
  const list = $('#arrivals');
  list.querySelector('.empty')?.remove();
  const item = el('li');
  const meta = el('div', 'meta', `${clock(new Date())} · id ${event.lastEventId}`);
  const rtt = el('span', 'rtt');
  meta.append(' ', rtt);
  item.append(el('div', 'data', update.text), meta);
  list.prepend(item);
  while (list.children.length > 50) {
    list.lastElementChild.remove();
  }

  const at = performance.now();
  if (sent.has(event.lastEventId)) {
    rtt.textContent = `· round trip ${Math.round(at - sent.get(event.lastEventId))} ms`;
    sent.delete(event.lastEventId);
  } else {
    // Someone else's update, or ours before its POST answered: remember a few, briefly.
    arrived.set(event.lastEventId, { at, rtt });
    if (arrived.size > 50) {
      arrived.delete(arrived.keys().next().value);
    }
  }
}

$('#publish-form').addEventListener('submit', async event => {
  event.preventDefault();
  const input = $('#publish-text');
  const button = $('#publish-button');
  const error = $('#publish-error');
  error.textContent = '';
  button.disabled = true;
  const started = performance.now();
  try {
    const { id } = await postJson('/demo/dashboard/updates', { text: input.value });
    const early = arrived.get(id);
    if (early) {
      early.rtt.textContent = `· round trip ${Math.round(early.at - started)} ms`;
      arrived.delete(id);
    } else {
      sent.set(id, started);
    }

    input.value = '';
  } catch (e) {
    error.textContent = e.message;
  } finally {
    button.disabled = false;
    input.focus();
  }
});

let session = null;
const stream = new LiveStream({
  // Live figures only: after any failure start from now, with a fresh token, rather than replay what was missed.
  resume: false,
  async url({ retry }) {
    if (!session || retry) {
      session = await postJson('/demo/session');
      $('#metrics-topic').textContent = session.topics.metrics;
      $('#test-topic').textContent = session.topics.testUpdates;
      $('#runtime').textContent = `${session.runtime} · ${session.cores} core${session.cores === 1 ? '' : 's'}`;
    }

    return subscribeUrl(session.hub, session.dashboard);
  },
  events: { figures: showFigures, test: showArrival },
  onState: (() => {
    const badge = connectionBadge($('#connection'));
    return (state, detail) => {
      badge(state, detail);
      const problem = $('#problem');
      problem.textContent = detail?.error ? `Cannot subscribe: ${detail.error.message}` : '';
      problem.classList.toggle('hidden', !detail?.error);
    };
  })(),
});
stream.start();
