// Type tests of the public surface (`connect` from 'celeriac', `startBroker` from
// 'celeriac/server'): misuses that must not compile and results that must infer exactly.
// Compiled by `tsc -p test/types/tsconfig.json` in `npm test`; never run. An `@ts-expect-error`
// that no longer meets an error fails that step, so a loosened type cannot slip through.
import {
  connect, CeleriacError, isErrorCode, Celeriac,
  type AnyEvent, type Connection, type ErrorCode, type EventHistory, type EventInfo, type EventPage, type EventSubscription, type Message,
  type MessageFields, type MessageProperties, type QueueInfo, type Delivery, type ResultBackend, type TaskLink, type Transport,
} from '../../client/index.js';
import {
  startBroker, DEFAULT_LIMITS, type Broker, type EventView, type LogLevel, type TaskDetail, type TaskInfo, type UserTag, type WorkerInfo,
} from '../../server/index.js';

/** True when A and B are the same type (not merely assignable either way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type IsAny<T> = 0 extends 1 & T ? true : false;
/** Compiles only when given `true`. */
function check<T extends true>(_ok?: T): void {}
/** Compiles only when `value` has exactly type T; a mismatch reads "Expected 2 arguments, but got 1". */
function exact<T>() {
  return <V>(_value: V, ..._proof: Equal<V, T> extends true ? [] : [never]): void => {};
}

export async function clientSurface(url: string): Promise<void> {
  exact<Promise<Connection>>()(connect(url));
  // @ts-expect-error a typo in connect options
  await connect(url, { reconect: false });
  // @ts-expect-error heartbeat is a number of ms
  await connect(url, { heartbeat: '10s' });
  const conn = await connect(url, { reconnect: false, heartbeat: 5_000, reconnectBackoff: { max: 1_000 } });

  // ---- declarations
  exact<QueueInfo>()(await conn.assertQueue('q', { durable: true, overflow: 'drop-head', messageTtl: 1_000 }));
  const info = await conn.assertQueue('');
  exact<number>()(info.messageCount);
  exact<number>()(info.consumerCount);
  exact<string>()(info.queue);
  // @ts-expect-error an unknown queue option
  await conn.assertQueue('q', { durabel: true });
  // RabbitMQ's x-arguments as given (kombu's queue_arguments); broker-server takes those of the named options.
  await conn.assertQueue('q', { arguments: { 'x-max-priority': 10 } });
  // @ts-expect-error overflow is 'drop-head' | 'reject-publish'
  await conn.assertQueue('q', { overflow: 'bogus' });
  // @ts-expect-error durations are milliseconds as numbers, not amqplib-style strings
  await conn.assertQueue('q', { messageTtl: '60000' });
  // @ts-expect-error no such exchange type
  await conn.assertExchange('x', 'bogus');
  exact<{ exchange: string }>()(await conn.assertExchange('x', 'topic', { durable: true }));
  // @ts-expect-error binding pattern is required
  await conn.bindQueue('q', 'x');
  exact<{ messageCount: number }>()(await conn.purgeQueue('q'));
  exact<{ messageCount: number }>()(await conn.deleteQueue('q', { ifEmpty: true }));

  // ---- publishing
  exact<Promise<void>>()(conn.publish('x', 'k', Buffer.from('hi'), { persistent: true, delay: 1_500 }));
  await conn.publish('x', 'k', 'text');
  await conn.publish('x', 'k', new Uint8Array([1]), { headers: { a: 1 }, expiration: 60_000, mandatory: true });
  // @ts-expect-error a number is not a body
  await conn.publish('x', 'k', 42);
  // @ts-expect-error an object is not a body either (serialise it first)
  await conn.sendToQueue('q', { a: 1 });
  // @ts-expect-error a typo in publish options
  await conn.publish('x', 'k', 'b', { persistant: true });
  // @ts-expect-error delay is in milliseconds
  await conn.publish('x', 'k', 'b', { delay: '10s' });

  // ---- consuming
  const sub = await conn.consume('q', (msg) => {
    exact<Message>()(msg);
    exact<MessageFields>()(msg.fields);
    exact<number>()(msg.fields.deliveryTag);
    exact<boolean>()(msg.fields.redelivered);
    exact<Buffer>()(msg.body);
    exact<MessageProperties>()(msg.properties);
    exact<Record<string, unknown> | undefined>()(msg.properties.headers);
    msg.ack({ multiple: true });
    msg.nack({ multiple: true, requeue: false });
    msg.reject({ requeue: true });
    // @ts-expect-error a typo in ack options
    msg.ack({ multipel: true });
    // @ts-expect-error basic.reject has no `multiple` (use nack)
    msg.reject({ multiple: true });
    // @ts-expect-error requeue is a boolean
    msg.nack({ requeue: 'yes' });
    // @ts-expect-error settled is read-only
    msg.settled = true;
    // @ts-expect-error body is read-only
    msg.body = Buffer.alloc(0);
  }, { prefetch: 10 });
  exact<{ consumerTag: string }>()(sub);
  await conn.consume('q', async (msg) => { msg.ack(); });
  // @ts-expect-error the handler takes a Message, not a string
  await conn.consume('q', (msg: string) => msg);
  // @ts-expect-error a typo in consume options
  await conn.consume('q', () => undefined, { prefecth: 1 });
  await conn.cancel(sub.consumerTag);

  const got = await conn.get('q', { noAck: false });
  exact<Message | null>()(got);
  // @ts-expect-error get() may find nothing
  got.ack();
  if (got !== null) exact<number | undefined>()(got.fields.messageCount);

  // ---- events and errors
  conn.on('reconnecting', (r) => {
    exact<number>()(r.attempt);
    exact<CeleriacError>()(r.error);
  });
  conn.on('close', (err) => exact<CeleriacError | undefined>()(err));
  conn.on('handlerError', (err, msg) => {
    exact<unknown>()(err);
    exact<Message>()(msg);
  });
  // @ts-expect-error no such event
  conn.on('closed', () => undefined);
  // @ts-expect-error 'cancel' passes (consumerTag, reason), both strings
  conn.on('cancel', (tag: number) => tag);
  try {
    await conn.close();
  } catch (err) {
    if (err instanceof CeleriacError) {
      exact<ErrorCode>()(err.code);
      // @ts-expect-error not a code of the error table
      if (err.code === 'ERR_NO_SUCH_THING') return;
    }
    const code: unknown = 'ERR_NOT_FOUND';
    if (isErrorCode(code)) exact<ErrorCode>()(code);
  }

  // No `any` leaks out of the Connection's own methods, in parameters or results.
  type Own = Exclude<keyof Connection, keyof import('node:events').EventEmitter>;
  type AnyIn<P extends readonly unknown[]> = true extends { [I in keyof P]: IsAny<P[I]> }[number] ? true : false;
  type Leaks = { [K in Own]: Connection[K] extends (...args: infer P) => infer R ? (AnyIn<P> extends true ? K : IsAny<Awaited<R>> extends true ? K : never) : IsAny<Connection[K]> extends true ? K : never }[Own];
  check<Equal<Leaks, never>>();
}

export async function serverSurface(): Promise<void> {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', dataFile: ':memory:' });
  exact<Broker>()(broker);
  exact<string>()(broker.url);
  exact<string>()(broker.httpUrl);
  exact<number>()(broker.port);
  exact<Promise<void>>()(broker.close());
  // @ts-expect-error url is read-only
  broker.url = 'ws://elsewhere';
  await startBroker({
    durability: 'process',
    users: [{ user: 'app', password: 'secret', vhosts: ['/'] }, { user: 'ops', password: 'pw', tags: ['administrator', 'monitoring'] }],
    vhosts: ['/', 'staging'],
    metricsOpen: true,
    limits: { maxMessageSize: 1 << 20 },
    log: (level, msg) => {
      exact<LogLevel>()(level);
      exact<string>()(msg);
    },
  });
  // @ts-expect-error a typo: port
  await startBroker({ prot: 0 });
  // @ts-expect-error a typo: dataFile
  await startBroker({ datafile: ':memory:' });
  // @ts-expect-error port is a number
  await startBroker({ port: '5680' });
  // @ts-expect-error no such durability mode
  await startBroker({ durability: 'lazy' });
  // @ts-expect-error a user needs a password
  await startBroker({ users: [{ user: 'app' }] });
  // @ts-expect-error tags are RabbitMQ's management tags, no others
  await startBroker({ users: [{ user: 'app', password: 'pw', tags: ['root'] }] });
  const tag: UserTag = 'monitoring';
  // @ts-expect-error not a tag
  const notTag: UserTag = 'management';
  void [tag, notTag];
  // @ts-expect-error a typo in a limit's name
  await startBroker({ limits: { maxMesageSize: 1 } });
  exact<number>()(DEFAULT_LIMITS.maxMessageSize);
  // @ts-expect-error the defaults are frozen
  DEFAULT_LIMITS.maxMessageSize = 1;

  // ---- the stored event history
  await startBroker({ eventsMaxCount: 0, eventsMaxAge: 86_400_000 });
  // @ts-expect-error the age is a number of ms
  await startBroker({ eventsMaxAge: '24h' });
  const page = broker.events.read({ since: 10, types: ['task-failed'], limit: 100 });
  exact<EventView[]>()(page.events);
  exact<number>()(page.next);
  exact<Record<string, unknown> | null>()(page.events[0]!.data);
  // @ts-expect-error since is an event id
  broker.events.read({ since: 'yesterday' });
  exact<() => void>()(broker.events.listen((e) => exact<EventView>()(e)));
  exact<TaskInfo[]>()(broker.tasks.query({ state: 'FAILURE', limit: 10 }).tasks);
  exact<number | null>()(broker.tasks.query().cursor);
  exact<TaskDetail | null>()(broker.tasks.get('id'));
  // @ts-expect-error a typo in a query filter
  broker.tasks.query({ status: 'FAILURE' });
  exact<WorkerInfo[]>()(broker.workers.list());
  // @ts-expect-error the indexes are read-only
  broker.tasks = broker.tasks;
}

export async function eventsSurface(app: Celeriac, conn: Connection): Promise<void> {
  exact<Promise<EventPage>>()(conn.readEvents({ since: 5, limit: 10, from: new Date() }));
  exact<readonly string[]>()(conn.capabilities);
  exact<Promise<EventHistory>>()(app.events.history({ types: ['task-failed'] }));
  const sub = await app.events.subscribe({
    'task-failed': (e, info) => {
      exact<string>()(e.exception);
      exact<EventInfo>()(info);
      exact<number | undefined>()(info.id);
    },
    '*': (e: AnyEvent) => e.type,
  }, { since: new Date(Date.now() - 60_000) });
  exact<EventSubscription>()(sub);
  exact<number>()(sub.lastId);
  // @ts-expect-error since is an event id or a Date
  await app.events.subscribe({}, { since: '1h' });
  // @ts-expect-error lastId is read-only
  sub.lastId = 3;
}

/** The contracts the task layer runs on: the app hands them out typed, and a Message is a Delivery. */
export async function contractsSurface(app: Celeriac, msg: Message): Promise<void> {
  const link = await app.link();
  exact<TaskLink>()(link);
  exact<Transport>()(link.transport);
  exact<ResultBackend>()(await app.backend());
  exact<Transport>()(app.worker().connection);
  const d: Delivery = msg;
  exact<Promise<boolean>>()(link.finish({ ack: d, ackRequired: true }));
  // @ts-expect-error the transport has no result methods: those are the result backend's
  void link.transport.storeResult('id', 'SUCCESS');
  // @ts-expect-error publish options of the contract take no track: a tracked publish is the link's
  void link.transport.publish('', 'q', 'x', { track: { taskId: 'id' } });
  // @ts-expect-error a result backend does not consume
  void link.results.consume('q', () => undefined);
}
