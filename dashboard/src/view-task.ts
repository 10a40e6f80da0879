// One task: its fields, arguments and result, its exception with a readable traceback (monospace,
// lines kept), and its event timeline; re-read when the stream says it changed. Administrators
// may retry a failed task or revoke an unfinished one.
import { api, seg } from './api.js';
import { confirmAction } from './confirm.js';
import type { Context, View } from './context.js';
import { h, json, replace, stateBadge, time, toast } from './dom.js';
import type { EventView, TaskDetail } from './types.js';
import { taskHref } from './view-tasks.js';

const FINAL = new Set(['SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED']);
/** What POST /api/tasks/{id}/retry sends again. */
const RETRYABLE = new Set(['FAILURE', 'REVOKED', 'REJECTED']);
/** Event fields the timeline shows beside its type (the rest is in the event's JSON). */
const TIMELINE_SKIP = new Set(['type', 'uuid', 'timestamp', 'clock', 'utcoffset', 'pid', 'local_received', 'traceback']);

function kv(label: string, value: Node | string): HTMLTableRowElement {
  return h('tr', {}, h('th', {}, label), h('td', {}, value));
}

function pre(v: unknown, cls = 'value'): HTMLPreElement {
  return h('pre', { class: cls }, json(v));
}

function timelineRow(e: EventView): HTMLTableRowElement {
  const data = e.data ?? {};
  const details = Object.entries(data)
    .filter(([k]) => !TIMELINE_SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('  ');
  const ts = typeof data.timestamp === 'number' ? data.timestamp * 1000 : e.at;
  return h('tr', { 'data-event': e.type }, h('td', {}, time(ts)), h('td', {}, e.type), h('td', { class: 'mono' }, details));
}

async function act(t: TaskDetail, kind: 'retry' | 'revoke' | 'terminate', reload: () => void): Promise<void> {
  const text = {
    retry: ['Retry this task?', 'It is sent again with the same arguments, as a new task; this page then shows the new one.', 'Retry'],
    revoke: ['Revoke this task?', 'Workers will not run it; if it runs already it finishes.', 'Revoke'],
    terminate: ['Terminate this task?', 'Workers will not run it, and the one running it now stops it (SIGTERM).', 'Terminate'],
  }[kind];
  if (!(await confirmAction(text[0]!, text[1]!, text[2]!))) return;
  try {
    const path = `/api/tasks/${seg(t.id)}/${kind === 'retry' ? 'retry' : 'revoke'}`;
    const body = kind === 'retry' ? { vhost: t.vhost } : { vhost: t.vhost, terminate: kind === 'terminate' };
    const res = await api<{ id: string }>(path, { method: 'POST', json: body });
    if (kind === 'retry') location.hash = taskHref({ id: res.id, vhost: t.vhost });
    else {
      toast('Revoked');
      reload();
    }
  } catch (err) {
    toast(`${text[2]} failed: ${(err as Error).message}`, true);
  }
}

function draw(root: HTMLElement, ctx: Context, t: TaskDetail, reload: () => void): void {
  const link = (id: string | null): Node | string => (id === null ? '–' : h('a', { class: 'mono', href: taskHref({ id, vhost: t.vhost }) }, id));
  const actions = h('div', { class: 'actions' });
  if (ctx.isAdmin && RETRYABLE.has(t.state)) actions.append(h('button', { type: 'button', 'data-action': 'retry', onclick: () => void act(t, 'retry', reload) }, 'Retry'));
  if (ctx.isAdmin && !FINAL.has(t.state)) {
    actions.append(
      h('button', { type: 'button', class: 'danger', 'data-action': 'revoke', onclick: () => void act(t, 'revoke', reload) }, 'Revoke'),
      h('button', { type: 'button', class: 'danger', 'data-action': 'terminate', onclick: () => void act(t, 'terminate', reload) }, 'Terminate'));
  }
  replace(root,
    h('h1', {}, t.name ?? 'task', ' ', stateBadge(t.state)),
    h('p', { class: 'mono muted' }, t.id),
    actions,
    h('table', { class: 'kv', id: 'task-fields' },
      h('tbody', {},
        kv('Worker', t.worker ?? '–'),
        kv('Queue', t.queue ?? '–'),
        kv('Args', pre(t.args)),
        kv('Kwargs', pre(t.kwargs)),
        t.state === 'SUCCESS' ? kv('Result', pre(t.result)) : null,
        kv('Retries', t.retries === null ? '–' : String(t.retries)),
        kv('Runtime', t.runtime === null ? '–' : `${t.runtime.toFixed(3)} s`),
        kv('Sent', time(t.sent)), kv('Received', time(t.received)), kv('Started', time(t.started)),
        kv('Finished', time(t.succeeded ?? t.failed ?? t.revoked ?? t.rejected)),
        t.eta === null ? null : kv('ETA', t.eta),
        t.expires === null ? null : kv('Expires', t.expires),
        kv('Parent', link(t.parentId)), kv('Root', link(t.rootId)),
        kv('Vhost', t.vhost))),
    t.exception === null ? null : h('h2', {}, 'Exception'),
    t.exception === null ? null : h('p', { class: 'error', id: 'exception' }, t.exception),
    t.traceback === null ? null : h('pre', { class: 'traceback', id: 'traceback' }, t.traceback),
    h('h2', {}, 'Timeline'),
    h('table', { id: 'timeline' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Event'), h('th', {}, 'Details'))),
      h('tbody', {}, ...t.timeline.map(timelineRow))));
}

export const taskView: View = (root, ctx, params, path) => {
  const id = path[1] ?? '';
  const vhost = params.get('vhost');
  const load = async (): Promise<void> => {
    try {
      const t = await api<TaskDetail>(`/api/tasks/${seg(id)}${vhost === null ? '' : `?vhost=${seg(vhost)}`}`);
      draw(root, ctx, t, () => void load());
    } catch (err) {
      replace(root, h('h1', {}, 'Task'), h('p', { class: 'mono' }, id), h('p', { class: 'error' }, (err as Error).message));
    }
  };
  replace(root, h('p', { class: 'muted' }, 'Loading…'));
  void load();
  const stops = [
    ctx.live.on('task', (b) => { if (b.tasks.some((c) => c.id === id)) void load(); }),
    ctx.live.on('reconnected', () => void load()),
  ];
  return () => stops.forEach((s) => s());
};
