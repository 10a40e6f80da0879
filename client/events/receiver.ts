// The typed subscription to events (Celery's EventReceiver): an exclusive, auto-delete queue bound
// to the events exchange, whose messages are parsed and handed to the handler of their type; with
// `since`, the broker's stored history first. After a reconnect it reads what it missed.
import { randomUUID } from 'node:crypto';
import { CeleriacError, fail } from '../../shared/errors.js';
import { bindingAccepts } from '../app/routing.js';
import type { EventPage } from '../../shared/frames.js';
import type { EventReadQuery, Transport } from '../transport/transport.js';
import { declareEvents } from './publisher.js';
import { EventStream, isCursorAhead } from './stream.js';
import { EVENTS_EXCHANGE, EVENT_ID_HEADER, EVENT_TYPES, type AnyEvent, type EventHandlers, type EventInfo, type EventType } from './types.js';

/** Options of `app.events.subscribe()`. */
export interface SubscribeOptions {
  /** Topic pattern of routing keys to receive ('task.#', 'worker.heartbeat', ...); default '#' (all). */
  pattern?: string;
  /**
   * Live events left unread this long are dropped, ms (Celery's event_queue_ttl: 5 s); 0 = kept.
   * Default 5 s, or 0 with `since` (a subscriber that replays history wants every event).
   */
  messageTtl?: number;
  /** Called when a handler throws, an event cannot be read, or a catch-up read fails (default: a process warning). */
  onError?: (err: unknown) => void;
  /**
   * Replay the broker's stored events first: those after this event id, or (a Date) from the first
   * stored at or after that time; then go on live, with no event missed or repeated. A `since`
   * beyond the broker's newest id is ERR_INVALID_ARGUMENT; a broker that stores no events,
   * ERR_PRECONDITION_FAILED.
   */
  since?: number | Date;
}

/** A live subscription. */
export interface EventSubscription {
  /** The queue the live events arrive on. */
  readonly queue: string;
  /**
   * The id of the newest stored event this subscription has passed (handed to a handler, or not of
   * a type it handles): `since` for a later subscription to resume from. 0 while there is none.
   */
  readonly lastId: number;
  /** Stops receiving and deletes the queue. Idempotent. */
  close(): Promise<void>;
}

const KNOWN: ReadonlySet<string> = new Set(EVENT_TYPES);
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkHandlers(handlers: EventHandlers): void {
  if (!isRecord(handlers)) throw fail('ERR_INVALID_ARGUMENT', 'subscribe(handlers): handlers must be an object of functions by event type');
  for (const [key, h] of Object.entries(handlers)) {
    if (key !== '*' && !KNOWN.has(key)) throw fail('ERR_INVALID_ARGUMENT', `subscribe: no event type '${key}' (known: ${EVENT_TYPES.join(', ')}, *)`);
    if (h !== undefined && typeof h !== 'function') throw fail('ERR_INVALID_ARGUMENT', `subscribe: the handler of '${key}' must be a function`);
  }
}

function checkSince(since: unknown): void {
  if (since === undefined) return;
  if (since instanceof Date ? Number.isNaN(since.getTime()) : typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0) {
    throw fail('ERR_INVALID_ARGUMENT', `subscribe: since must be an event id (a whole number >= 0) or a Date, got ${String(since)}`);
  }
}

/** The event types a history read asks for: those with a handler, or all with '*'. */
function typesOf(handlers: EventHandlers): string[] | undefined {
  if (handlers['*'] !== undefined) return undefined;
  return Object.keys(handlers).filter((k) => handlers[k as EventType] !== undefined);
}

/** Where a live subscription starts in the history, so a reconnect resumes there; undefined when the broker keeps none. */
async function newestId(conn: Transport): Promise<number | undefined> {
  if (conn.eventLog() === undefined) return undefined;
  try {
    return (await readLog(conn, { limit: 0 })).last;
  } catch (err) {
    if (err instanceof CeleriacError && err.code === 'ERR_PRECONDITION_FAILED') return undefined;
    throw err;
  }
}

/** One read of the transport's event log, as it is now (a reconnect may have reached another broker). */
function readLog(conn: Transport, query: EventReadQuery): Promise<EventPage> {
  const log = conn.eventLog();
  if (log === undefined) return Promise.reject(fail('ERR_PRECONDITION_FAILED', 'this broker keeps no event history (it does not announce the events capability)'));
  return log.readEvents(query);
}

/** Subscribes `handlers` to the events on `conn`; resolves once the queue is consumed and any history asked for was handed on. */
export async function subscribeEvents(conn: Transport, handlers: EventHandlers, options: SubscribeOptions = {}): Promise<EventSubscription> {
  checkHandlers(handlers);
  checkSince(options.since);
  const pattern = options.pattern ?? '#';
  if (typeof pattern !== 'string' || pattern === '') throw fail('ERR_INVALID_ARGUMENT', 'subscribe: pattern must be a non-empty topic pattern');
  const ttl = options.messageTtl ?? (options.since === undefined ? 5_000 : 0);
  const onError = options.onError ?? ((err: unknown) => process.emitWarning(`event handler failed: ${String(err)}`, { code: 'CELERIAC_EVENTS' }));
  const since = options.since;
  if (since !== undefined && conn.eventLog() === undefined) {
    throw fail('ERR_PRECONDITION_FAILED', 'subscribe({ since }): this broker has no event log (it does not announce the events capability)');
  }
  // Before the queue is bound: an event after this id reaches the queue or is read back after a drop.
  const start = since === undefined ? await newestId(conn) : since instanceof Date ? 0 : since;
  const types = typesOf(handlers);
  const stream = new EventStream({
    read: (q: EventReadQuery) => readLog(conn, types === undefined ? q : { ...q, types }),
    deliver: (body, routingKey, id, replayed) => dispatch(handlers, body, routingKey, { id, routingKey, replayed }, onError),
    wanted: (routingKey) => pattern === '#' || bindingAccepts('topic', pattern, routingKey),
  }, start ?? 0);
  if (since !== undefined) stream.hold();

  await declareEvents(conn);
  const queue = `${EVENTS_EXCHANGE}.receiver.${randomUUID()}`;
  await conn.assertQueue(queue, { exclusive: true, autoDelete: true, ...(ttl > 0 ? { messageTtl: ttl } : {}) });
  await conn.bindQueue(queue, EVENTS_EXCHANGE, pattern);
  const { consumerTag } = await conn.consume(queue, (msg) => {
    const id = msg.properties.headers?.[EVENT_ID_HEADER];
    stream.live(typeof id === 'number' ? id : undefined, msg.fields.routingKey, msg.body);
  }, { noAck: true });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stream.close();
      conn.off('reconnecting', onDown);
      conn.off('reconnected', onUp);
      await conn.cancel(consumerTag).catch(() => undefined);
      await conn.deleteQueue(queue).catch(() => undefined);
    })();
    return closing;
  };
  // The queue died with the socket: live events wait while what was missed is read back.
  const onDown = (): void => { if (start !== undefined) stream.hold(); };
  const onUp = (): void => {
    if (start === undefined) return;
    stream.catchUp().catch((err: unknown) => {
      if (!isCursorAhead(err)) return onError(err);
      // The broker came back with another data file: its ids start again, so read all of it.
      stream.position = 0;
      stream.catchUp().catch(onError);
    });
  };
  conn.on('reconnecting', onDown);
  conn.on('reconnected', onUp);
  if (since !== undefined) {
    try {
      await stream.catchUp(since instanceof Date ? since : undefined);
    } catch (err) {
      await close();
      throw err;
    }
  }
  return {
    queue,
    get lastId() { return stream.position; },
    close,
  };
}

function dispatch(handlers: EventHandlers, body: Uint8Array, routingKey: string, info: EventInfo, onError: (err: unknown) => void): void {
  let event: unknown;
  try {
    event = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    onError(fail('ERR_INVALID_ARGUMENT', `an event on ${routingKey} is not JSON: ${String(err)}`));
    return;
  }
  if (!isRecord(event) || typeof event.type !== 'string' || !KNOWN.has(event.type)) return; // not ours to read
  const e = event as unknown as AnyEvent;
  const specific = handlers[e.type as EventType] as ((ev: AnyEvent, info: EventInfo) => void) | undefined;
  for (const h of [specific, handlers['*']]) {
    if (h === undefined) continue;
    try {
      h(e, info);
    } catch (err) {
      onError(err);
    }
  }
}
