// The caller's side of remote control (`app.control`): broadcasts commands on the control fanout
// exchange and collects the workers' replies from an exclusive reply queue, matched by ticket.
import { randomUUID } from 'node:crypto';
import { fail } from '../../shared/errors.js';
import type { RevokeOptions } from '../../shared/frames.js';
import { parseRateLimit, type RateLimit } from '../app/rate-limit.js';
import type { TaskLink } from '../result-backend/result-backend.js';
import type { Delivery, Transport } from '../transport/transport.js';
import { Inspect } from './inspect.js';
import { COMMAND_TTL_MS, CONTROL_EXCHANGE, REPLY_EXCHANGE, encodeJson, parseReply, type ControlCommand } from './protocol.js';
import type { BroadcastOptions, ErrorReply, OkReply, Replies } from './types.js';

/** What Control needs of the app: its producer link (commands travel on the transport; revoke and rate overrides are kept by the result backend). */
export interface ControlHost {
  link(): Promise<TaskLink>;
}

/** Options of a broadcast: BroadcastOptions plus whether to wait for replies at all. */
export interface SendOptions extends BroadcastOptions {
  /** Wait for replies (default true); false publishes and resolves with no replies. */
  reply?: boolean;
}

interface Collector {
  replies: Array<Record<string, unknown>>;
  limit: number;
  done(): void;
}

const DEFAULT_TIMEOUT_MS = 1_000;

function checkOptions(o: BroadcastOptions): { timeout: number; destination: string[] | null; limit: number } {
  const timeout = o.timeout ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) throw fail('ERR_INVALID_ARGUMENT', 'control: timeout must be a number of ms >= 0');
  let destination: string[] | null = null;
  if (o.destination !== undefined) {
    if (!Array.isArray(o.destination) || !o.destination.every((d) => typeof d === 'string')) {
      throw fail('ERR_INVALID_ARGUMENT', 'control: destination must be an array of worker hostnames');
    }
    destination = [...o.destination];
  }
  // As Celery: addressed to N workers, N replies are all there is to wait for.
  const limit = o.limit ?? (destination === null ? Infinity : destination.length);
  if (typeof limit !== 'number' || !(limit >= 0)) throw fail('ERR_INVALID_ARGUMENT', 'control: limit must be a number >= 0');
  return { timeout, destination, limit };
}

/**
 * Remote control of running workers (Celery's `app.control`): ping, inspect, rate limits, revoke,
 * shutdown. Replies come from every worker that answered within the timeout, one
 * `{ [hostname]: reply }` each.
 */
export class Control {
  private replyQueue: Promise<{ conn: Transport; queue: string }> | undefined;
  private readonly collectors = new Map<string, Collector>();

  constructor(private readonly host: ControlHost) {}

  /**
   * Sends `method` with `args` to the workers (all, or `destination`) and collects replies for
   * `timeout` ms or until `limit` came. The building block of every other method; use it for
   * custom commands. A worker that does not know `method` answers `{ error: 'No such method' }`.
   */
  async broadcast<R = unknown>(method: string, args: Record<string, unknown> = {}, options: SendOptions = {}): Promise<Replies<R>> {
    if (typeof method !== 'string' || method === '') throw fail('ERR_INVALID_ARGUMENT', 'control: method must be a non-empty string');
    const { timeout, destination, limit } = checkOptions(options);
    const wantReply = options.reply !== false;
    const ticket = randomUUID();
    if (!wantReply) {
      const conn = await this.declare((await this.host.link()).transport);
      await conn.publish(CONTROL_EXCHANGE, '', encodeJson({ method, arguments: args, destination, reply_to: null, ticket } satisfies ControlCommand), { contentType: 'application/json' });
      return [];
    }
    const { conn, queue } = await this.ensureReplyQueue();
    const replies: Array<Record<string, unknown>> = [];
    if (limit === 0) return [];
    let timer: NodeJS.Timeout | undefined;
    const finished = new Promise<void>((resolve) => {
      this.collectors.set(ticket, { replies, limit, done: resolve });
      timer = setTimeout(resolve, timeout);
    });
    try {
      const command: ControlCommand = { method, arguments: args, destination, reply_to: { exchange: REPLY_EXCHANGE, routing_key: queue }, ticket };
      // A command nobody read by the time we stop listening is worth nothing: it expires then.
      await conn.publish(CONTROL_EXCHANGE, '', encodeJson(command), { contentType: 'application/json', expiration: Math.max(1, Math.ceil(timeout)) });
      await finished;
    } finally {
      clearTimeout(timer);
      this.collectors.delete(ticket);
    }
    return replies as Replies<R>;
  }

  /** Pings the workers: one `{ [hostname]: { ok: 'pong' } }` per worker that answered. */
  ping(options: BroadcastOptions = {}): Promise<Replies<{ ok: 'pong' }>> {
    return this.broadcast<{ ok: 'pong' }>('ping', {}, options);
  }

  /** Inspect commands (active, reserved, scheduled, registered, stats) with these options. */
  inspect(options: BroadcastOptions = {}): Inspect {
    checkOptions(options);
    return new Inspect(this, options);
  }

  /**
   * Changes the rate limit of task `taskName` for every worker ('10/s', '100/m', '5/h', a number
   * per second; '0' = no limit; null = back to the task's own). The broker holds it, so it binds
   * all workers together, those started later included (a worker reads the broker's overrides
   * when it starts); the running workers are told so their inspect shows it. Resolves with
   * their replies.
   */
  async rateLimit(taskName: string, rate: RateLimit | null, options: BroadcastOptions = {}): Promise<Replies<OkReply | ErrorReply>> {
    if (typeof taskName !== 'string' || taskName === '') throw fail('ERR_INVALID_ARGUMENT', 'rateLimit: taskName must be a non-empty string');
    const parsed = rate === null ? null : parseRateLimit(rate, `rateLimit of ${taskName}`);
    const { results } = await this.host.link();
    await results.rateSet(taskName, parsed === null ? null : { count: parsed.count, intervalMs: parsed.intervalMs });
    return this.broadcast<OkReply | ErrorReply>('rate_limit', { task_name: taskName, rate_limit: rate }, options);
  }

  /**
   * Revokes task ids. The broker keeps the revocation (across restarts, for workers started later),
   * stores REVOKED and, with `terminate`, pushes the stop to whichever worker runs the task.
   */
  async revoke(taskIds: string | string[], options: RevokeOptions = {}): Promise<{ revoked: number }> {
    const { results } = await this.host.link();
    return results.revoke(taskIds, options);
  }

  /**
   * Asks workers to shut down warm (finish running tasks, give back prefetched ones). Resolves with
   * the replies (`{ ok: 'shutting down' }`) of those that heard it within `timeout`.
   */
  shutdown(options: BroadcastOptions = {}): Promise<Replies<OkReply>> {
    return this.broadcast<OkReply>('shutdown', {}, options);
  }

  // ---- replies

  private async declare(conn: Transport): Promise<Transport> {
    await conn.assertExchange(CONTROL_EXCHANGE, 'fanout', { durable: false });
    return conn;
  }

  private ensureReplyQueue(): Promise<{ conn: Transport; queue: string }> {
    this.replyQueue ??= this.openReplyQueue();
    const p = this.replyQueue;
    // A failed set-up is not remembered: the next call tries again.
    p.catch(() => {
      if (this.replyQueue === p) this.replyQueue = undefined;
    });
    return p;
  }

  private async openReplyQueue(): Promise<{ conn: Transport; queue: string }> {
    const conn = await this.declare((await this.host.link()).transport);
    await conn.assertExchange(REPLY_EXCHANGE, 'direct', { durable: false });
    const queue = `${REPLY_EXCHANGE}.${randomUUID()}`;
    await conn.assertQueue(queue, { exclusive: true, autoDelete: true, messageTtl: COMMAND_TTL_MS });
    await conn.bindQueue(queue, REPLY_EXCHANGE, queue);
    await conn.consume(queue, (msg) => this.onReply(msg), { noAck: true });
    return { conn, queue };
  }

  private onReply(msg: Delivery): void {
    const ticket = msg.properties.headers?.['ticket'];
    const c = typeof ticket === 'string' ? this.collectors.get(ticket) : undefined;
    // Late (its caller stopped listening), or past the limit while the caller wakes up.
    if (c === undefined || c.replies.length >= c.limit) return;
    const reply = parseReply(msg.body);
    if (reply === undefined) return;
    c.replies.push(reply);
    if (c.replies.length >= c.limit) c.done();
  }
}
