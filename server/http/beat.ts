// GET /api/beat: the beat schedule as stored in the broker (entries with their next run, the
// leader leases), read through the engine's beat list on an engine connection per vhost, with
// each entry's spec read for display (task, schedule in words).
import type { FastifyInstance } from 'fastify';
import type { LeaseRecord, ScheduleRecord } from '../../shared/frames.js';
import type { EngineActions } from './engine-actions.js';
import type { HttpDeps } from './http-deps.js';
import { readSpec, type SpecView } from './beat-spec.js';
import { VHOST_QUERY_SCHEMA } from './task-schemas.js';
import { listingVhosts } from './tasks.js';

/** What the beat route needs. */
export interface BeatRouteDeps {
  deps: HttpDeps;
  actions: EngineActions;
}

/** An entry as the API shows it: the stored record, its vhost, and its spec read. */
export type BeatEntryView = ScheduleRecord & SpecView & { vhost: string };

const str = { type: 'string' } as const;
const strOrNull = { type: 'string', nullable: true } as const;
const numOrNull = { type: 'number', nullable: true } as const;
const count = { type: 'integer', minimum: 0 } as const;

const BEAT_ENTRY_SCHEMA = {
  type: 'object',
  required: ['vhost', 'name', 'task', 'schedule', 'spec', 'paused', 'source', 'lastRunAt', 'nextRunAt', 'runCount', 'createdAt', 'updatedAt', 'revision'],
  properties: {
    vhost: str,
    name: str,
    task: strOrNull,
    schedule: { type: 'string', description: "the schedule in words ('every 10 s', \"crontab '0 9 * * *' (UTC)\"); 'unreadable' with `error`" },
    args: { type: 'array', nullable: true },
    kwargs: { type: 'object', nullable: true, additionalProperties: true },
    options: { type: 'object', nullable: true, additionalProperties: true },
    timezone: strOrNull,
    error: str,
    spec: { type: 'string', description: 'the entry as JSON text, as stored' },
    paused: { type: 'boolean' },
    source: { type: 'string', description: "'settings' (a beat's beatSchedule) or 'api' (app.schedules, the CLI)" },
    lastRunAt: { ...numOrNull, description: 'scheduled time of the last run, epoch ms' },
    nextRunAt: { ...numOrNull, description: 'scheduled time of the next run, epoch ms; null: none' },
    runCount: count,
    createdAt: { type: 'number' },
    updatedAt: { type: 'number' },
    revision: count,
  },
} as const;

const LEASE_SCHEMA = {
  type: 'object',
  required: ['vhost', 'name', 'holder', 'epoch', 'expiresAt'],
  properties: {
    vhost: str, name: str,
    holder: { type: 'string', nullable: true, description: 'host:pid:random of the beat holding it; null when released' },
    epoch: count,
    expiresAt: { type: 'number', description: 'epoch ms; past: free to take' },
  },
} as const;

/** Registers GET /api/beat. */
export function registerBeatRoutes(app: FastifyInstance, { deps, actions }: BeatRouteDeps): void {
  app.get<{ Querystring: { vhost?: string } }>('/api/beat', {
    schema: {
      tags: ['beat'],
      summary: 'Beat schedule entries with their next run, and the leader leases',
      querystring: VHOST_QUERY_SCHEMA,
      response: {
        200: {
          type: 'object',
          required: ['entries', 'leases'],
          properties: { entries: { type: 'array', items: BEAT_ENTRY_SCHEMA }, leases: { type: 'array', items: LEASE_SCHEMA } },
        },
      },
    },
  }, async (req) => {
    const entries: BeatEntryView[] = [];
    const leases: (LeaseRecord & { vhost: string })[] = [];
    for (const vhost of listingVhosts(req, deps, req.query.vhost) ?? deps.vhosts) {
      const list = actions.run(req.principal!, vhost, req.ip, (conn) => deps.engine.beat.list(conn, undefined));
      for (const record of list.entries) entries.push({ ...record, ...readSpec(record.spec), vhost });
      for (const lease of list.leases) leases.push({ ...lease, vhost });
    }
    return { entries, leases };
  });
}
