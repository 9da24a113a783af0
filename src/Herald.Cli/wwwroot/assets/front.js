import { LiveStream, connectionBadge, postJson, subscribeUrl, clock, el } from '/assets/live.js';

// The command lines name this hub's own address.
for (const node of document.querySelectorAll('[data-origin]')) {
  node.textContent = location.origin;
}

for (const button of document.querySelectorAll('[data-copy]')) {
  button.addEventListener('click', async () => {
    const text = document.getElementById(button.dataset.copy).textContent;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      getSelection().selectAllChildren(document.getElementById(button.dataset.copy));
      button.textContent = 'Selected';
    }

    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  });
}

function showHello(event) {
  const list = document.getElementById('hello-feed');
  list.querySelector('.empty')?.remove();
  const item = el('li');
  item.append(el('div', 'data', event.data), el('div', 'meta', `${clock(new Date())} · id ${event.lastEventId}`));
  list.prepend(item);
  while (list.children.length > 30) {
    list.lastElementChild.remove();
  }
}

let session = null;
new LiveStream({
  resume: false,
  async url({ retry }) {
    if (!session || retry) {
      session = await postJson('/demo/session');
      document.getElementById('runtime').textContent = session.runtime;
    }

    return subscribeUrl(session.hub, session.hello);
  },
  events: { message: showHello },
  onState: connectionBadge(document.getElementById('connection')),
}).start();
