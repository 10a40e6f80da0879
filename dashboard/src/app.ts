// The dashboard page: who is looking (GET /api/whoami), the live stream, the header, and the view
// the location's hash names (#/overview, #/queues, #/tasks?state=…, #/task/{id}, #/workers, #/beat).
import { api, setCsrfToken } from './api.js';
import { Context, type View } from './context.js';
import { h, replace } from './dom.js';
import { Live } from './live.js';
import type { Me } from './types.js';
import { beatView } from './view-beat.js';
import { overviewView } from './view-overview.js';
import { queuesView } from './view-queues.js';
import { taskView } from './view-task.js';
import { tasksView } from './view-tasks.js';
import { workersView } from './view-workers.js';

const VIEWS: Readonly<Record<string, View>> = {
  overview: overviewView, queues: queuesView, tasks: tasksView, task: taskView, workers: workersView, beat: beatView,
};

function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el;
}

function header(ctx: Context): void {
  const me = ctx.me;
  byId('me').textContent = `${me.name} · ${ctx.isAdmin ? 'administrator' : 'monitoring'}`;
  const logout = byId('logout');
  // Basic credentials stay in the browser until it closes: only a session can be logged out.
  logout.hidden = me.via !== 'session';
  logout.addEventListener('click', () => {
    void api('/api/logout', { method: 'POST' }).finally(() => location.assign('/'));
  });
  const live = byId('live');
  ctx.live.on('status', (up) => {
    live.className = `live ${up ? 'on' : 'down'}`;
    live.textContent = up ? 'live' : 'reconnecting';
  });
}

async function main(): Promise<void> {
  const me = await api<Me>('/api/whoami');
  setCsrfToken(me.csrfToken);
  const live = new Live();
  const ctx = new Context(me, live);
  header(ctx);
  const root = byId('view');
  let stop: (() => void) | undefined;
  const route = (): void => {
    const [pathPart = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?', 2);
    const path = pathPart.split('/').map((p) => decodeURIComponent(p));
    const name = path[0] !== undefined && path[0] in VIEWS ? path[0] : 'overview';
    stop?.();
    for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a')) a.classList.toggle('active', a.dataset.view === (name === 'task' ? 'tasks' : name));
    document.title = `celeriac · ${name}`;
    stop = VIEWS[name]!(root, ctx, new URLSearchParams(query), path);
  };
  window.addEventListener('hashchange', route);
  route();
  live.start();
}

main().catch((err: Error) => replace(byId('view'), h('p', { class: 'error' }, `The dashboard could not start: ${err.message}`)));
