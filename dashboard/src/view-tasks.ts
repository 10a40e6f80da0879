// Tasks: the broker's task index, filtered by state, name and worker, searched by id or name,
// newest first, a page at a time. Rows change state as the stream's `task` events arrive; new
// tasks show on the first page (one re-read per second at most, only when some arrived).
import { api } from './api.js';
import type { View } from './context.js';
import { count, h, replace, stateBadge, time } from './dom.js';
import type { TaskChange, TaskInfo, TasksPage } from './types.js';

const STATES = ['PENDING', 'RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED', 'REJECTED'];
const PAGE_SIZE = 50;
const FILTERS = ['state', 'name', 'worker', 'search'] as const;

/** The link of a task's page. */
export function taskHref(t: { id: string; vhost: string }): string {
  return `#/task/${encodeURIComponent(t.id)}?vhost=${encodeURIComponent(t.vhost)}`;
}

function matches(c: TaskChange, params: URLSearchParams): boolean {
  const state = params.get('state');
  const name = params.get('name');
  const worker = params.get('worker');
  const search = params.get('search')?.toLowerCase();
  if (state && c.state !== state) return false;
  if (name && c.name !== name) return false;
  if (worker && c.worker !== worker) return false;
  if (search && !c.id.toLowerCase().startsWith(search) && !(c.name ?? '').toLowerCase().includes(search)) return false;
  return true;
}

function row(t: TaskInfo): HTMLTableRowElement {
  return h('tr', { 'data-task': t.id },
    h('td', { class: 'mono' }, h('a', { href: taskHref(t) }, t.id)),
    h('td', {}, t.name ?? '–'),
    h('td', { 'data-col': 'state' }, stateBadge(t.state)),
    h('td', { 'data-col': 'worker' }, t.worker ?? '–'),
    h('td', {}, time(t.received ?? t.sent ?? t.firstSeen)),
    h('td', { class: 'num' }, t.runtime === null ? '–' : `${t.runtime.toFixed(3)} s`),
    h('td', { class: 'muted' }, t.exception ?? ''));
}

export const tasksView: View = (root, ctx, params) => {
  // The cursors of the pages before this one, so Newer goes back.
  const cursor = params.get('cursor');
  const body = h('tbody');
  const status = h('span', { class: 'muted' });
  const form = h('form', { class: 'filters' },
    h('label', {}, 'State', h('select', { name: 'state' }, h('option', { value: '' }, 'any'), ...STATES.map((s) => h('option', { value: s, selected: params.get('state') === s }, s)))),
    h('label', {}, 'Name', h('input', { name: 'name', value: params.get('name') ?? '', placeholder: 'exact task name' })),
    h('label', {}, 'Worker', h('input', { name: 'worker', value: params.get('worker') ?? '', placeholder: 'hostname' })),
    h('label', {}, 'Search', h('input', { name: 'search', type: 'search', value: params.get('search') ?? '', placeholder: 'id prefix or part of a name' })),
    h('button', { type: 'submit', class: 'primary' }, 'Apply'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const f of FILTERS) {
      const v = (form.elements.namedItem(f) as HTMLInputElement | HTMLSelectElement).value.trim();
      if (v !== '') next.set(f, v);
    }
    location.hash = `#/tasks?${next}`;
  });
  const pager = h('div', { class: 'pager' }, status);
  replace(root, h('h1', {}, 'Tasks'), form,
    h('table', { id: 'tasks' },
      h('thead', {}, h('tr', {}, h('th', {}, 'ID'), h('th', {}, 'Name'), h('th', {}, 'State'), h('th', {}, 'Worker'), h('th', {}, 'Received'), h('th', { class: 'num' }, 'Runtime'), h('th', {}, 'Exception'))),
      body),
    pager);

  let shown: TaskInfo[] = [];
  const load = async (): Promise<void> => {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    for (const f of FILTERS) {
      const v = params.get(f);
      if (v) q.set(f, v);
    }
    if (cursor !== null) q.set('cursor', cursor);
    let page: TasksPage;
    try {
      page = await api<TasksPage>(`/api/tasks?${q}`);
    } catch (err) {
      replace(body, h('tr', {}, h('td', { colspan: 7, class: 'error' }, (err as Error).message)));
      return;
    }
    shown = page.tasks;
    replace(body, ...shown.map(row));
    if (shown.length === 0) body.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No tasks match.')));
    status.textContent = `${count(shown.length)} tasks${cursor === null ? '' : ' (older page)'}`;
    pager.replaceChildren(status);
    if (cursor !== null) pager.append(h('a', { href: `#/tasks?${withCursor(params, null)}` }, '« Newest'));
    if (page.cursor !== null) pager.append(h('a', { href: `#/tasks?${withCursor(params, String(page.cursor))}`, 'data-page': 'older' }, 'Older »'));
  };
  void load();

  let reload: ReturnType<typeof setTimeout> | undefined;
  const stop = ctx.live.on('task', (batch) => {
    let fresh = batch.dropped > 0;
    for (const c of batch.tasks) {
      const i = shown.findIndex((t) => t.id === c.id && t.vhost === c.vhost);
      if (i >= 0) {
        const t = shown[i]!;
        shown[i] = { ...t, state: c.state, worker: c.worker ?? t.worker, exception: c.exception ?? t.exception, runtime: c.runtime ?? t.runtime };
        body.querySelector(`tr[data-task="${CSS.escape(c.id)}"]`)?.replaceWith(row(shown[i]!));
      } else if (cursor === null && matches(c, params)) fresh = true;
    }
    if (fresh && reload === undefined) reload = setTimeout(() => { reload = undefined; void load(); }, 1_000);
  });
  const stopStatus = ctx.live.on('reconnected', () => void load());
  return () => {
    stop();
    stopStatus();
    clearTimeout(reload);
  };
};

function withCursor(params: URLSearchParams, cursor: string | null): URLSearchParams {
  const next = new URLSearchParams(params);
  if (cursor === null) next.delete('cursor');
  else next.set('cursor', cursor);
  return next;
}
