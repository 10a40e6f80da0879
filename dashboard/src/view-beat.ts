// Beat: the schedule the broker keeps for beat (entries, their next and last run, run counts,
// paused ones); the next-run countdown moves with each overview tick, and the list is re-read
// once an entry's next run has passed.
import { api } from './api.js';
import type { View } from './context.js';
import { count, h, relative, replace, time } from './dom.js';
import type { BeatEntry } from './types.js';

function row(e: BeatEntry): HTMLTableRowElement {
  return h('tr', { 'data-entry': e.name },
    h('td', {}, e.name),
    h('td', { 'data-col': 'task' }, e.task ?? '–'),
    h('td', { class: 'mono', 'data-col': 'schedule' }, e.schedule ?? '–'),
    h('td', { 'data-col': 'next' }, e.paused === true ? h('span', { class: 'muted' }, 'paused')
      // null: no run planned (a beat has not planned it yet, its limit or end is reached, a one-off ran).
      : e.nextRunAt == null ? h('span', { class: 'muted' }, 'none planned') : `${time(e.nextRunAt)} (${relative(e.nextRunAt)})`),
    h('td', {}, e.lastRunAt == null ? 'never' : `${time(e.lastRunAt)} (${relative(e.lastRunAt)})`),
    h('td', { class: 'num' }, count(e.runCount ?? 0)),
    h('td', {}, e.vhost ?? '/'));
}

export const beatView: View = (root, ctx) => {
  const body = h('tbody');
  replace(root, h('h1', {}, 'Beat schedule'),
    h('table', { id: 'beat' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Entry'), h('th', {}, 'Task'), h('th', {}, 'Schedule'), h('th', {}, 'Next run'), h('th', {}, 'Last run'), h('th', { class: 'num' }, 'Runs'), h('th', {}, 'Vhost'))),
      body));
  let entries: BeatEntry[] = [];
  let reread: ReturnType<typeof setTimeout> | undefined;
  const draw = (): void => {
    replace(body, ...entries.map(row));
    if (entries.length === 0) body.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No schedule entries: beat has not stored any yet.')));
  };
  const load = async (): Promise<void> => {
    try {
      entries = (await api<{ entries: BeatEntry[] }>('/api/beat')).entries;
      draw();
    } catch (err) {
      replace(body, h('tr', {}, h('td', { colspan: 7, class: 'error' }, (err as Error).message)));
      return;
    }
    // Re-read just after the soonest next run, when its last run and run count will have moved.
    const soonest = Math.min(...entries.filter((e) => e.paused !== true && typeof e.nextRunAt === 'number').map((e) => e.nextRunAt as number));
    clearTimeout(reread);
    if (Number.isFinite(soonest)) reread = setTimeout(() => void load(), Math.max(1_000, soonest - Date.now() + 1_000));
  };
  void load();
  const stops = [ctx.live.on('overview', draw), ctx.live.on('reconnected', () => void load())];
  return () => {
    stops.forEach((s) => s());
    clearTimeout(reread);
  };
};
