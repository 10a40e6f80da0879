// GET /api/stream: the dashboard's live feed as Server-Sent Events (what StreamHub gathers, written
// to each page's response), behind the same gate as every route, with a bound on streams held.
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { fail } from '../../shared/errors.js';
import { mayUseVhost } from './auth.js';
import type { HttpDeps } from './http-deps.js';
import { overviewOf } from './listings.js';
import type { RateTracker } from './rates.js';
import { SESSION_COOKIE, type SessionStore } from './sessions.js';
import { DEFAULT_STREAM_SETTINGS, StreamHub, type StreamClient, type StreamSettings } from './stream-hub.js';

/** Bounds on open streams: each holds a socket and is written to every 2 s. */
export interface StreamLimits {
  /** Streams one user may hold (a few tabs). */
  readonly perUser: number;
  /** Streams held in all. */
  readonly total: number;
}

export const DEFAULT_STREAM_LIMITS: Readonly<StreamLimits> = Object.freeze({ perUser: 8, total: 64 });

/** The browser waits this long before reconnecting a dropped stream (the SSE `retry` field). */
const RECONNECT_MS = 3_000;

/** One page's response as a {@link StreamClient}. */
function sseClient(res: ServerResponse, sees: (vhost: string) => boolean, alive: () => boolean): StreamClient {
  return {
    sees,
    alive,
    send(event, data) {
      // JSON.stringify never writes a raw newline, so the data is one `data:` line.
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      return res.writableLength;
    },
    close() {
      res.end();
    },
  };
}

/**
 * Registers GET /api/stream and the hub behind it. The hub's streams are ended when the server
 * closes (preClose), or the server's close would wait for them for ever.
 */
export function registerStreamRoute(
  app: FastifyInstance,
  deps: HttpDeps,
  rates: RateTracker,
  sessions: SessionStore,
  options: { settings?: StreamSettings; limits?: StreamLimits } = {},
): StreamHub {
  const limits = options.limits ?? DEFAULT_STREAM_LIMITS;
  const hub = new StreamHub({
    overview: () => deps.engine.overview(),
    summary: (o) => overviewOf(deps, rates, o),
    queueRates: (o) => rates.ratesOf(o).queue,
    events: deps.engine.events,
  }, options.settings ?? DEFAULT_STREAM_SETTINGS);
  const perUser = new Map<string, number>();
  app.addHook('preClose', async () => hub.close());

  app.get('/api/stream', {
    schema: {
      tags: ['dashboard'],
      summary: 'Live updates for the dashboard (Server-Sent Events)',
      description: 'text/event-stream. `history` (the overview chart points of the last minutes) and a full `queues` at once, then '
        + '`overview` every 2 s (GET /api/overview\'s body plus `at`), `queues` ({ full, changed: rows, removed: [{vhost, name}] }: the rows whose counts or rates changed), '
        + '`task` ({ tasks: [{ vhost, id, name, state, worker, type, at, eventId, exception, runtime }], dropped }) and `worker` ({ workers: [{ vhost, hostname, type, at }] }) '
        + 'batched every 250 ms as events are stored. At most 8 streams per user and 64 in all (503 ERR_TOO_MANY_CONNECTIONS beyond).',
      response: { 200: { type: 'string', description: 'text/event-stream' } },
    },
  }, async (req, reply) => {
    const who = req.principal!;
    const mine = perUser.get(who.user) ?? 0;
    if (mine >= limits.perUser) throw fail('ERR_TOO_MANY_CONNECTIONS', `user '${who.user}' holds ${mine} live streams already (at most ${limits.perUser}): close a dashboard tab`);
    if (hub.size >= limits.total) throw fail('ERR_TOO_MANY_CONNECTIONS', `the broker holds ${hub.size} live streams already (at most ${limits.total})`);
    perUser.set(who.user, mine + 1);
    // Taken over from fastify: the answer is written as events come, for as long as the page stays.
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // A proxy in front must not hold the events back to fill a buffer.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${RECONNECT_MS}\n\n`);
    // A stream opened with the session cookie lasts as long as the session: logging out ends it.
    // (Checking it also marks the session used, as the requests of a polling page would.)
    const cookie = who.via === 'session' ? req.cookies[SESSION_COOKIE] : undefined;
    const alive = cookie === undefined ? () => true : () => sessions.get(cookie) !== undefined;
    const client = sseClient(res, (vhost) => mayUseVhost(who, vhost), alive);
    res.once('close', () => {
      hub.remove(client);
      const left = (perUser.get(who.user) ?? 1) - 1;
      if (left > 0) perUser.set(who.user, left);
      else perUser.delete(who.user);
    });
    hub.add(client);
  });
  return hub;
}
