// Queues: counts and rates of every queue the user may see, kept current by the stream's `queues`
// events; administrators purge and delete (after a confirmation), monitoring users see no buttons.
import { api, seg } from './api.js';
import { confirmAction } from './confirm.js';
import { queueKey, type Context, type View } from './context.js';
import { count, h, rate, replace, toast } from './dom.js';
import type { QueueRow } from './types.js';

async function act(ctx: Context, q: QueueRow, kind: 'purge' | 'delete'): Promise<void> {
  const what = kind === 'purge'
    ? { title: `Purge queue ${q.name}?`, text: `Its ${count(q.ready)} ready messages are removed for good. Unacked and delayed ones stay.`, label: 'Purge' }
    : { title: `Delete queue ${q.name}?`, text: `The queue goes with its ${count(q.messages)} messages; its ${count(q.consumers)} consumers are cancelled.`, label: 'Delete' };
  if (!(await confirmAction(what.title, what.text, what.label))) return;
  const path = `/api/queues/${seg(q.vhost)}/${seg(q.name)}${kind === 'purge' ? '/contents' : ''}`;
  try {
    await api(path, { method: 'DELETE' });
    toast(kind === 'purge' ? `Queue ${q.name} purged` : `Queue ${q.name} deleted`);
    // Shown at once; the stream's next `queues` event says the same.
    if (kind === 'delete') ctx.queues.delete(queueKey(q.vhost, q.name));
    else ctx.queues.set(queueKey(q.vhost, q.name), await api<QueueRow>(`/api/queues/${seg(q.vhost)}/${seg(q.name)}`));
  } catch (err) {
    toast(`${what.label} failed: ${(err as Error).message}`, true);
  }
}

function row(ctx: Context, q: QueueRow, redraw: () => void): HTMLTableRowElement {
  const cell = (v: string, key: string): HTMLTableCellElement => h('td', { class: 'num', 'data-col': key }, v);
  return h('tr', { 'data-queue': q.name, 'data-vhost': q.vhost },
    h('td', {}, q.name, q.durable ? null : h('span', { class: 'muted' }, ' (transient)')),
    h('td', {}, q.vhost),
    cell(count(q.ready), 'ready'), cell(count(q.unacked), 'unacked'), cell(count(q.delayed), 'delayed'),
    cell(count(q.consumers), 'consumers'),
    cell(rate(q.rates.publish), 'publish'), cell(rate(q.rates.deliver), 'deliver'), cell(rate(q.rates.ack), 'ack'),
    ctx.isAdmin
      ? h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'danger', 'data-action': 'purge', onclick: () => void act(ctx, q, 'purge').then(redraw) }, 'Purge'),
        h('button', { type: 'button', class: 'danger', 'data-action': 'delete', onclick: () => void act(ctx, q, 'delete').then(redraw) }, 'Delete'))
      : null);
}

export const queuesView: View = (root, ctx) => {
  const filter = h('input', { type: 'search', placeholder: 'filter by name', 'aria-label': 'filter queues by name' });
  const body = h('tbody');
  // The rows drawn, in order: when the same queues are shown again, only the rows whose data
  // changed are replaced, so a button under the pointer is not swapped out on every tick.
  let drawn: { q: QueueRow; tr: HTMLTableRowElement }[] = [];
  const draw = (): void => {
    const needle = filter.value.trim().toLowerCase();
    const rows = [...ctx.queues.values()]
      .filter((q) => needle === '' || q.name.toLowerCase().includes(needle))
      .sort((a, b) => a.vhost.localeCompare(b.vhost) || a.name.localeCompare(b.name));
    const same = rows.length > 0 && rows.length === drawn.length && rows.every((q, i) => queueKey(q.vhost, q.name) === queueKey(drawn[i]!.q.vhost, drawn[i]!.q.name));
    if (same) {
      rows.forEach((q, i) => {
        const old = drawn[i]!;
        if (old.q === q) return;
        const tr = row(ctx, q, draw);
        old.tr.replaceWith(tr);
        drawn[i] = { q, tr };
      });
      return;
    }
    drawn = rows.map((q) => ({ q, tr: row(ctx, q, draw) }));
    replace(body, ...drawn.map((d) => d.tr));
    if (rows.length === 0) body.append(h('tr', {}, h('td', { colspan: 10, class: 'muted' }, 'No queues.')));
  };
  filter.addEventListener('input', draw);
  const num = (label: string): HTMLTableCellElement => h('th', { class: 'num' }, label);
  replace(root,
    h('h1', {}, 'Queues'),
    h('form', { class: 'filters', onsubmit: (e: Event) => e.preventDefault() }, filter),
    h('table', { id: 'queues' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Vhost'), num('Ready'), num('Unacked'), num('Delayed'), num('Consumers'),
        num('Publish /s'), num('Deliver /s'), num('Ack /s'), ctx.isAdmin ? h('th', {}, '') : null)),
      body));
  draw();
  // The stream sent every row at connect; a fresh read covers a page opened before that.
  api<QueueRow[]>('/api/queues').then((rows) => {
    ctx.queues.clear();
    for (const q of rows) ctx.queues.set(queueKey(q.vhost, q.name), q);
    draw();
  }, (err: Error) => toast(err.message, true));
  const stop = ctx.live.on('queues', draw);
  return stop;
};
