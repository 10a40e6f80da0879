// Workers: what the broker's worker index knows from their events (online, last heartbeat, pool,
// concurrency, running and processed counts, queues); re-read when the stream says a worker spoke.
import { api } from './api.js';
import type { View } from './context.js';
import { count, h, relative, replace } from './dom.js';
import type { WorkerInfo } from './types.js';

function row(w: WorkerInfo): HTMLTableRowElement {
  return h('tr', { 'data-worker': w.hostname },
    h('td', {}, w.hostname),
    h('td', {}, w.online ? h('span', { class: 'online' }, 'online') : h('span', { class: 'offline' }, 'offline')),
    h('td', {}, relative(w.lastHeartbeat)),
    h('td', {}, w.pool ?? '–'),
    h('td', { class: 'num' }, count(w.concurrency)),
    h('td', { class: 'num', 'data-col': 'active' }, count(w.active)),
    h('td', { class: 'num', 'data-col': 'processed' }, count(w.processed)),
    h('td', {}, (w.queues ?? []).join(', ') || '–'),
    h('td', {}, w.loadavg === null ? '–' : w.loadavg.map((l) => l.toFixed(2)).join(' ')),
    h('td', {}, w.vhost),
    h('td', { class: 'muted' }, [w.swIdent, w.swVer].filter((x) => x !== null).join(' ') || '–'));
}

export const workersView: View = (root, ctx) => {
  const body = h('tbody');
  replace(root, h('h1', {}, 'Workers'),
    h('table', { id: 'workers' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Hostname'), h('th', {}, 'Status'), h('th', {}, 'Heartbeat'), h('th', {}, 'Pool'), h('th', { class: 'num' }, 'Concurrency'),
        h('th', { class: 'num' }, 'Running'), h('th', { class: 'num' }, 'Processed'), h('th', {}, 'Queues'), h('th', {}, 'Load'), h('th', {}, 'Vhost'), h('th', {}, 'Software'))),
      body));
  let workers: WorkerInfo[] = [];
  const draw = (): void => {
    replace(body, ...workers.map(row));
    if (workers.length === 0) body.append(h('tr', {}, h('td', { colspan: 11, class: 'muted' }, 'No worker has sent events (start workers with task events on: -E / sendEvents).')));
  };
  let pending: ReturnType<typeof setTimeout> | undefined;
  const load = async (): Promise<void> => {
    try {
      workers = await api<WorkerInfo[]>('/api/workers');
      draw();
    } catch (err) {
      replace(body, h('tr', {}, h('td', { colspan: 11, class: 'error' }, (err as Error).message)));
    }
  };
  void load();
  const stops = [
    // Heartbeats come every few seconds from each worker: one re-read per second at most.
    ctx.live.on('worker', () => { pending ??= setTimeout(() => { pending = undefined; void load(); }, 1_000); }),
    // The heartbeat ages move on with the clock; the overview event is the page's clock tick.
    ctx.live.on('overview', draw),
    ctx.live.on('reconnected', () => void load()),
  ];
  return () => {
    stops.forEach((s) => s());
    clearTimeout(pending);
  };
};
