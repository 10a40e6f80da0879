// /api/tasks: the broker's task index over HTTP (monitoring): a filtered, paged listing and one
// task with its event timeline. Thin over engine.tasks; a user limited to some vhosts sees only theirs.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fail } from '../../shared/errors.js';
import type { EventView, TaskDetail, TaskInfo, TasksPage, TasksQuery } from '../engine/events-api.js';
import { checkVhost, mayUseVhost } from './auth.js';
import type { HttpDeps } from './http-deps.js';
import { TASK_DETAIL_SCHEMA, TASK_ID_PARAMS, TASKS_PAGE_SCHEMA, TASKS_QUERY_SCHEMA, VHOST_QUERY_SCHEMA } from './task-schemas.js';

/** The query string of GET /api/tasks. */
type TasksQueryString = Omit<TasksQuery, 'vhost'> & { vhost?: string };

/** A timeline event as JSON: its parsed body, not its bytes. */
type EventJson = Omit<EventView, 'body'>;

/**
 * The vhosts a listing reads: the one named (checked: it exists and the caller may use it), else
 * null for "every vhost" when the caller may use all, else the caller's own.
 */
export function listingVhosts(req: FastifyRequest, deps: Pick<HttpDeps, 'vhosts'>, vhost: string | undefined): string[] | null {
  if (vhost !== undefined) {
    checkVhost(req, deps, vhost);
    return [vhost];
  }
  const who = req.principal;
  if (who === null || who.vhosts === null) return null;
  return deps.vhosts.filter((v) => mayUseVhost(who, v));
}

/**
 * One page over several vhosts: each vhost's newest `limit` before the cursor, merged newest first
 * (by first event id, the index's cursor) and cut to `limit`. The cursor is set while any vhost may
 * hold more.
 */
function mergedPage(deps: HttpDeps, vhosts: readonly string[], query: TasksQuery): TasksPage {
  const limit = query.limit ?? 100;
  const pages = vhosts.map((vhost) => deps.engine.tasks.query({ ...query, vhost }));
  const all: TaskInfo[] = pages.flatMap((p) => p.tasks).sort((a, b) => b.firstEventId - a.firstEventId);
  const tasks = all.slice(0, limit);
  const more = all.length > limit || pages.some((p) => p.cursor !== null);
  return { tasks, cursor: more && tasks.length > 0 ? tasks[tasks.length - 1]!.firstEventId : null };
}

function detailJson(task: TaskDetail): Omit<TaskDetail, 'timeline'> & { timeline: EventJson[] } {
  return { ...task, timeline: task.timeline.map(({ body: _body, ...event }) => event) };
}

/** Registers GET /api/tasks and GET /api/tasks/{id}. */
export function registerTaskRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get<{ Querystring: TasksQueryString }>('/api/tasks', {
    schema: {
      tags: ['tasks'],
      summary: 'Tasks known from their events, newest first, filtered and paged',
      description: 'Filters: `state`, `name`, `worker`, `search` (an id prefix or part of the name), `from` / `to` (first seen, epoch ms). '
        + 'Pass the answer\'s `cursor` back as `cursor` for the next page.',
      querystring: TASKS_QUERY_SCHEMA,
      response: { 200: TASKS_PAGE_SCHEMA },
    },
  }, async (req) => {
    const { vhost, ...filters } = req.query;
    const vhosts = listingVhosts(req, deps, vhost);
    if (vhosts === null) return deps.engine.tasks.query(filters);
    if (vhosts.length === 1) return deps.engine.tasks.query({ ...filters, vhost: vhosts[0]! });
    return mergedPage(deps, vhosts, filters);
  });

  app.get<{ Params: { id: string }; Querystring: { vhost?: string } }>('/api/tasks/:id', {
    schema: {
      tags: ['tasks'],
      summary: 'One task: arguments, result or exception with traceback, retries, and its event timeline',
      params: TASK_ID_PARAMS,
      querystring: VHOST_QUERY_SCHEMA,
      response: { 200: TASK_DETAIL_SCHEMA },
    },
  }, async (req) => detailJson(findTask(req, deps, req.params.id, req.query.vhost)));
}

/**
 * The task `id` (of `vhost`, or of any vhost the caller may use): ERR_NOT_FOUND when the index does
 * not hold it, or holds it only in a vhost the caller may not see.
 */
export function findTask(req: FastifyRequest, deps: HttpDeps, id: string, vhost: string | undefined): TaskDetail {
  if (vhost !== undefined) checkVhost(req, deps, vhost);
  const who = req.principal;
  let task = deps.engine.tasks.get(id, vhost);
  // Without a vhost the index answers the first it finds; a restricted caller looks in each of theirs.
  if (task !== null && who !== null && !mayUseVhost(who, task.vhost)) {
    task = null;
    for (const v of listingVhosts(req, deps, undefined) ?? []) {
      task = deps.engine.tasks.get(id, v);
      if (task !== null) break;
    }
  }
  if (task === null) throw fail('ERR_NOT_FOUND', `no task '${id}' in the task index${vhost === undefined ? '' : ` of vhost '${vhost}'`}`, { id });
  return task;
}
