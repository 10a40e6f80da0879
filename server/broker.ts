// The embeddable broker: validates options once, then builds store -> engine -> HTTP + WebSocket on
// one port, and tears them down in reverse. No module-level state: many brokers run in one process.
import { existsSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CeleriacError } from '../shared/errors.js';
import { DEFAULT_LIMITS, type Limits } from '../shared/limits.js';
import { DEFAULT_THROTTLE } from './auth/login-throttle.js';
import { USER_TAGS, UserRegistry, isUserTag, type UserSpec } from './auth/users.js';
import { createEngine, DEFAULT_EVENT_RETENTION } from './engine/index.js';
import type { EngineApi } from './engine/types.js';
import type { EventsApi, TasksApi, WorkersApi } from './engine/events-api.js';
import { buildHttpServer } from './http/http-server.js';
import { escapeLogText } from './log-text.js';
import type { BrokerState, PeerCounts } from './http/http-deps.js';
import { AmqpListener } from './amqp/listener.js';
import { ConnectionGuard } from './session/connection-guard.js';
import { WsEndpoint } from './session/endpoint.js';
import { defaultMaxConnections } from './session/open-files.js';
import { openSqliteStore } from './store/index.js';
import type { BrokerStore, DurabilityMode } from './store/store.js';

/** Port the broker listens on when none is given (AMQP's 5672 neighbourhood, free of RabbitMQ's). */
export const DEFAULT_PORT = 5680;

/** Log levels the broker reports with. */
export type LogLevel = 'info' | 'warn' | 'error';

/** Options of {@link startBroker}; every one is optional. */
export interface BrokerOptions {
  /** TCP port for both ws and http; 0 picks a free port. Default 5680. */
  port?: number;
  /** Interface to listen on. Default '127.0.0.1'. */
  host?: string;
  /**
   * TCP port of the AMQP 0-9-1 listener (docs/amqp.md), on `host`, onto the same engine, users and
   * limits; 0 picks a free port. Absent = no AMQP listener.
   */
  amqpPort?: number;
  /** TCP port of the AMQP 0-9-1 listener over TLS (amqps://), on `host`; needs amqpsCert and amqpsKey. 0 picks a free port. */
  amqpsPort?: number;
  /** The amqps listener's certificate chain, PEM. */
  amqpsCert?: string | Buffer;
  /** The amqps listener's private key, PEM. */
  amqpsKey?: string | Buffer;
  /** SQLite file holding everything durable; ':memory:' keeps nothing. Default './celeriac.db'. */
  dataFile?: string;
  /** 'full' (default): a confirm follows an fsync. 'process': survives a crash of the process, not of the machine. */
  durability?: DurabilityMode;
  /**
   * Users allowed to connect. When given, the built-in guest/guest user does not exist; when
   * absent, guest/guest is the only user (an administrator) and is accepted from loopback addresses
   * only. A user's `tags` open the management HTTP API: `monitoring` reads, `administrator` acts;
   * a user without tags uses the WebSocket protocol only.
   */
  users?: UserSpec[];
  /** Virtual hosts that exist. Default ['/']. */
  vhosts?: string[];
  /** Protocol limits; unset ones keep DEFAULT_LIMITS. */
  limits?: Partial<Limits>;
  /**
   * Block publishers while the bytes the broker holds in memory (queued messages, send buffers)
   * exceed this (0 or absent = never). Not the process RSS: the allocator keeps freed pages.
   */
  memoryHighWatermark?: number;
  /** Once blocked for memory, unblock at or under this many bytes held. Default 80% of memoryHighWatermark. */
  memoryLowWatermark?: number;
  /**
   * Ready messages a durable queue keeps in memory before the tail of each priority lane stays on
   * disk, and persisted delayed messages a queue keeps in memory before later-due ones stay on
   * disk (paged in as their turn comes). Default 20,000.
   */
  pagingThreshold?: number;
  /** Block publishers while the data file exceeds this many bytes (0 or absent = never). */
  storeHighWatermark?: number;
  /** Default consumer ack timeout in ms for queues that set none (default 30 min, as RabbitMQ). */
  defaultConsumerTimeout?: number;
  /**
   * TCP connections (WebSocket and HTTP) held at once; more are answered 503 ERR_TOO_MANY_CONNECTIONS.
   * 0 = no cap. Default 10000, or the open-file limit less 64 when that is lower.
   */
  maxConnections?: number;
  /** Connections from one peer address at once; 0 = no cap. Default half of maxConnections. */
  maxConnectionsPerAddress?: number;
  /** Serve GET /metrics without credentials (for a Prometheus scraper); every other route still needs a user. Default false. */
  metricsOpen?: boolean;
  /**
   * Events (messages routed through the `celeriac.events` exchange) the event log keeps: the newest
   * this many. Default 100,000; 0 stores no events (no history, no task or worker index).
   */
  eventsMaxCount?: number;
  /** Events the event log keeps: those stored less than this many ms ago. Default 24 h; 0 stores none. */
  eventsMaxAge?: number;
  /**
   * Receives the broker's log lines; default: silent. Each `msg` is one line: control characters
   * and backslashes in it are escaped (`\n`, `\x1b`, `\\`), so text from a client (a user
   * name, a queue name, an error frame) cannot forge or hide lines.
   */
  log?: (level: LogLevel, msg: string) => void;
}

/** A running broker. */
export interface Broker {
  /** WebSocket URL clients connect to, e.g. ws://127.0.0.1:5680. */
  readonly url: string;
  /** Base URL of the management API on the same port, e.g. http://127.0.0.1:5680. */
  readonly httpUrl: string;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** URL of the AMQP 0-9-1 listener, e.g. amqp://127.0.0.1:5672; undefined without option amqpPort. */
  readonly amqpUrl: string | undefined;
  /** The AMQP port actually bound; undefined without option amqpPort. */
  readonly amqpPort: number | undefined;
  /** URL of the AMQP listener over TLS, e.g. amqps://127.0.0.1:5671; undefined without option amqpsPort. */
  readonly amqpsUrl: string | undefined;
  /** The amqps port actually bound; undefined without option amqpsPort. */
  readonly amqpsPort: number | undefined;
  readonly host: string;
  /** The stored event log: events routed through `celeriac.events`, read from a cursor (docs/events.md). */
  readonly events: EventsApi;
  /** The task index the broker keeps from task events: query by state, name, worker, time; one task with its timeline. */
  readonly tasks: TasksApi;
  /** The worker index the broker keeps from worker events: online, heartbeat, pool, concurrency, processed. */
  readonly workers: WorkersApi;
  /**
   * Stops accepting, closes every connection with ERR_SERVER_SHUTDOWN, waits for pending commits
   * and closes the data file. Safe to call more than once.
   */
  close(): Promise<void>;
}

/** The validated, frozen configuration a broker runs with. */
export interface BrokerConfig {
  readonly port: number;
  readonly host: string;
  readonly amqpPort: number | undefined;
  readonly amqps: { readonly port: number; readonly cert: string | Buffer; readonly key: string | Buffer } | undefined;
  readonly dataFile: string;
  readonly durability: DurabilityMode;
  readonly users: readonly UserSpec[] | undefined;
  readonly vhosts: readonly string[];
  readonly limits: Readonly<Limits>;
  readonly memoryHighWatermark: number | undefined;
  readonly memoryLowWatermark: number | undefined;
  readonly pagingThreshold: number | undefined;
  readonly storeHighWatermark: number | undefined;
  readonly defaultConsumerTimeout: number | undefined;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly metricsOpen: boolean;
  readonly eventsMaxCount: number;
  readonly eventsMaxAge: number;
  readonly log: (level: LogLevel, msg: string) => void;
}

const OPTION_NAMES: ReadonlySet<string> = new Set([
  'port', 'host', 'amqpPort', 'amqpsPort', 'amqpsCert', 'amqpsKey', 'dataFile', 'durability', 'users', 'vhosts', 'limits', 'memoryHighWatermark', 'memoryLowWatermark', 'pagingThreshold',
  'storeHighWatermark', 'defaultConsumerTimeout', 'maxConnections', 'maxConnectionsPerAddress', 'metricsOpen', 'eventsMaxCount', 'eventsMaxAge', 'log',
]);

function invalid(option: string, message: string): CeleriacError {
  return new CeleriacError('ERR_INVALID_ARGUMENT', `startBroker: option '${option}' ${message}`, { details: { option } });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function optionalCount(option: string, v: unknown, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw invalid(option, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function nonEmptyString(option: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(option, `must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function validateLimits(v: unknown): Readonly<Limits> {
  if (v === undefined) return DEFAULT_LIMITS;
  if (!isRecord(v)) throw invalid('limits', 'must be an object of limits');
  const limits: Limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(v)) {
    if (value === undefined) continue;
    if (!Object.prototype.hasOwnProperty.call(DEFAULT_LIMITS, key)) {
      throw invalid(`limits.${key}`, `is not a limit (known: ${Object.keys(DEFAULT_LIMITS).join(', ')})`);
    }
    // heartbeat 0 switches heartbeats off; every other limit must allow something.
    const min = key === 'heartbeat' ? 0 : 1;
    limits[key as keyof Limits] = optionalCount(`limits.${key}`, value, min)!;
  }
  if (limits.maxPreAuthSize > limits.maxMessageSize) throw invalid('limits.maxPreAuthSize', 'must not exceed limits.maxMessageSize');
  return Object.freeze(limits);
}

function validateUsers(v: unknown, vhosts: readonly string[]): readonly UserSpec[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalid('users', 'must be an array of { user, password, vhosts?, tags? }');
  const seen = new Set<string>();
  return Object.freeze(v.map((u: unknown, i): UserSpec => {
    const at = `users[${i}]`;
    if (!isRecord(u)) throw invalid(at, 'must be an object { user, password, vhosts?, tags? }');
    const user = nonEmptyString(`${at}.user`, u.user);
    if (seen.has(user)) throw invalid(`${at}.user`, `repeats user '${user}'`);
    seen.add(user);
    if (typeof u.password !== 'string') throw invalid(`${at}.password`, 'must be a string');
    const spec: UserSpec = { user, password: u.password };
    if (u.vhosts !== undefined) {
      if (!Array.isArray(u.vhosts)) throw invalid(`${at}.vhosts`, 'must be an array of vhost names');
      const own = u.vhosts.map((h: unknown, j) => nonEmptyString(`${at}.vhosts[${j}]`, h));
      for (const h of own) if (!vhosts.includes(h)) throw invalid(`${at}.vhosts`, `names vhost '${h}', which is not in option 'vhosts' (${vhosts.join(', ')})`);
      spec.vhosts = Object.freeze(own) as string[];
    }
    if (u.tags !== undefined) {
      if (!Array.isArray(u.tags)) throw invalid(`${at}.tags`, `must be an array of tags (${USER_TAGS.join(', ')})`);
      u.tags.forEach((tag: unknown, j) => {
        if (!isUserTag(tag)) throw invalid(`${at}.tags[${j}]`, `must be one of ${USER_TAGS.join(', ')}, got ${JSON.stringify(tag)}`);
      });
      spec.tags = Object.freeze([...u.tags]) as UserSpec['tags'];
    }
    return Object.freeze(spec);
  }));
}

function pem(option: string, v: unknown): string | Buffer {
  if ((typeof v !== 'string' && !Buffer.isBuffer(v)) || v.length === 0) throw invalid(option, 'must be PEM text (a string or a Buffer)');
  return v;
}

/** The amqps listener's port and credentials: all three options, or none. */
function resolveAmqps(options: BrokerOptions): BrokerConfig['amqps'] {
  const port = optionalCount('amqpsPort', options.amqpsPort, 0);
  if (port === undefined) {
    if (options.amqpsCert !== undefined || options.amqpsKey !== undefined) throw invalid('amqpsPort', 'is needed with amqpsCert and amqpsKey');
    return undefined;
  }
  if (port > 65535) throw invalid('amqpsPort', `must be at most 65535, got ${port}`);
  if (options.amqpsCert === undefined || options.amqpsKey === undefined) throw invalid(options.amqpsCert === undefined ? 'amqpsCert' : 'amqpsKey', 'is needed with amqpsPort');
  return Object.freeze({ port, cert: pem('amqpsCert', options.amqpsCert), key: pem('amqpsKey', options.amqpsKey) });
}

/** Checks every option once and returns the frozen configuration; throws ERR_INVALID_ARGUMENT naming the option. */
export function resolveBrokerConfig(options: BrokerOptions = {}): BrokerConfig {
  if (!isRecord(options as unknown)) throw invalid('options', 'must be an object');
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) throw invalid(key, `is not a broker option (known: ${[...OPTION_NAMES].join(', ')})`);
  }
  const port = optionalCount('port', options.port, 0) ?? DEFAULT_PORT;
  if (port > 65535) throw invalid('port', `must be at most 65535, got ${port}`);
  const host = options.host === undefined ? '127.0.0.1' : nonEmptyString('host', options.host);
  const amqpPort = optionalCount('amqpPort', options.amqpPort, 0);
  if (amqpPort !== undefined && amqpPort > 65535) throw invalid('amqpPort', `must be at most 65535, got ${amqpPort}`);
  const amqps = resolveAmqps(options);
  const dataFile = options.dataFile === undefined ? './celeriac.db' : nonEmptyString('dataFile', options.dataFile);
  const durability = options.durability ?? 'full';
  if (durability !== 'full' && durability !== 'process') throw invalid('durability', `must be 'full' or 'process', got ${JSON.stringify(durability)}`);
  let vhosts: readonly string[] = ['/'];
  if (options.vhosts !== undefined) {
    if (!Array.isArray(options.vhosts) || options.vhosts.length === 0) throw invalid('vhosts', 'must be a non-empty array of names');
    vhosts = options.vhosts.map((h: unknown, i) => nonEmptyString(`vhosts[${i}]`, h));
    if (new Set(vhosts).size !== vhosts.length) throw invalid('vhosts', 'repeats a name');
  }
  const memoryHighWatermark = optionalCount('memoryHighWatermark', options.memoryHighWatermark, 0);
  const memoryLowWatermark = optionalCount('memoryLowWatermark', options.memoryLowWatermark, 0);
  if (memoryLowWatermark !== undefined && !(memoryLowWatermark < (memoryHighWatermark ?? 0))) {
    throw invalid('memoryLowWatermark', `must be below memoryHighWatermark (${memoryHighWatermark ?? 'not set'}), got ${memoryLowWatermark}`);
  }
  const log: unknown = options.log;
  if (log !== undefined && typeof log !== 'function') throw invalid('log', 'must be a function (level, msg) => void');
  const maxConnections = optionalCount('maxConnections', options.maxConnections, 0) ?? defaultMaxConnections();
  const maxConnectionsPerAddress = optionalCount('maxConnectionsPerAddress', options.maxConnectionsPerAddress, 0) ?? Math.ceil(maxConnections / 2);
  const metricsOpen: unknown = options.metricsOpen ?? false;
  if (typeof metricsOpen !== 'boolean') throw invalid('metricsOpen', `must be a boolean, got ${JSON.stringify(metricsOpen)}`);
  return Object.freeze({
    port,
    host,
    amqpPort,
    amqps,
    dataFile,
    durability,
    users: validateUsers(options.users, vhosts),
    vhosts: Object.freeze([...vhosts]),
    limits: validateLimits(options.limits),
    memoryHighWatermark,
    memoryLowWatermark,
    pagingThreshold: optionalCount('pagingThreshold', options.pagingThreshold, 1),
    storeHighWatermark: optionalCount('storeHighWatermark', options.storeHighWatermark, 0),
    defaultConsumerTimeout: optionalCount('defaultConsumerTimeout', options.defaultConsumerTimeout, 1),
    maxConnections,
    maxConnectionsPerAddress,
    metricsOpen,
    eventsMaxCount: optionalCount('eventsMaxCount', options.eventsMaxCount, 0) ?? DEFAULT_EVENT_RETENTION.maxCount,
    eventsMaxAge: optionalCount('eventsMaxAge', options.eventsMaxAge, 0) ?? DEFAULT_EVENT_RETENTION.maxAge,
    log: escapingLog(options.log),
  });
}

/**
 * The one place broker log text is made safe: everything the engine, sessions and endpoint log
 * goes through here, whichever of them put a peer's text into the message.
 */
function escapingLog(log: BrokerOptions['log']): BrokerConfig['log'] {
  if (log === undefined) return () => undefined;
  return (level, msg) => log(level, escapeLogText(msg));
}

/** The version in package.json, found by walking up from this file (works from src and dist). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'celeriac' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // not ours or unreadable: keep walking
      }
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

/** What /metrics reports of refused and throttled peers. */
function peerCounts(users: UserRegistry, guard: ConnectionGuard): PeerCounts {
  const logins = users.stats();
  return {
    loginFailures: logins.failures,
    loginsDelayed: logins.delayed,
    loginsRefused: logins.refused,
    connectionsRefused: guard.counts.refused,
    handshakeTimeouts: guard.counts.handshakeTimeouts,
  };
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Starts a broker: opens (or recovers) the data file, then serves WebSocket clients and the
 * management API on one port and, with option amqpPort, AMQP 0-9-1 clients on another. Rejects with ERR_INVALID_ARGUMENT for a bad option, or with the
 * listen / open error (e.g. EADDRINUSE) after releasing what it had opened.
 */
export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const config = resolveBrokerConfig(options);
  const version = packageVersion();
  const startedAt = Date.now();
  const store: BrokerStore = openSqliteStore({ file: config.dataFile, durability: config.durability });
  let engine: EngineApi;
  try {
    engine = createEngine({
      store,
      vhosts: [...config.vhosts],
      ...(config.memoryHighWatermark === undefined ? {} : { memoryHighWatermark: config.memoryHighWatermark }),
      ...(config.memoryLowWatermark === undefined ? {} : { memoryLowWatermark: config.memoryLowWatermark }),
      ...(config.pagingThreshold === undefined ? {} : { pagingThreshold: config.pagingThreshold }),
      ...(config.storeHighWatermark === undefined ? {} : { storeHighWatermark: config.storeHighWatermark }),
      ...(config.defaultConsumerTimeout === undefined ? {} : { defaultConsumerTimeout: config.defaultConsumerTimeout }),
      events: { maxCount: config.eventsMaxCount, maxAge: config.eventsMaxAge },
      log: config.log,
    });
  } catch (err) {
    store.close();
    throw err;
  }
  const guard = new ConnectionGuard({
    handshakeTimeout: config.limits.handshakeTimeout,
    maxConnections: config.maxConnections,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    log: config.log,
  });
  // A throttled login must still fit in the handshake timeout, or the throttle would be a lockout.
  const users = new UserRegistry(config.users, { ...DEFAULT_THROTTLE, maxDelayMs: Math.min(DEFAULT_THROTTLE.maxDelayMs, Math.floor(config.limits.handshakeTimeout / 2)) });
  const endpoint = new WsEndpoint({
    engine,
    users,
    limits: config.limits,
    vhosts: new Set(config.vhosts),
    server: `celeriac/${version}`,
    handshakeLeft: (socket) => guard.handOver(socket as Socket),
    log: config.log,
  });
  const amqpDeps = {
    engine,
    users,
    limits: config.limits,
    vhosts: new Set(config.vhosts),
    version,
    admit: (socket: Socket) => guard.admitOther(socket)?.message,
    log: config.log,
  };
  const amqp = config.amqpPort === undefined ? undefined : new AmqpListener(amqpDeps);
  const amqps = config.amqps === undefined ? undefined : new AmqpListener({ ...amqpDeps, tls: { cert: config.amqps.cert, key: config.amqps.key } });
  let app: FastifyInstance | undefined;
  let state: BrokerState = 'starting';
  let amqpPort: number | undefined;
  let amqpsPort: number | undefined;
  try {
    app = buildHttpServer({
      engine, store, users, startedAt, version,
      vhosts: config.vhosts,
      maxBodySize: config.limits.maxBodySize,
      metricsOpen: config.metricsOpen,
      state: () => state,
      connections: () => endpoint.size + (amqp?.size ?? 0) + (amqps?.size ?? 0),
      peers: () => peerCounts(users, guard),
    });
    guard.attach(app.server);
    endpoint.attach(app.server);
    await app.listen({ port: config.port, host: config.host });
    if (amqp !== undefined) amqpPort = await amqp.listen(config.amqpPort!, config.host);
    if (amqps !== undefined) amqpsPort = await amqps.listen(config.amqps!.port, config.host);
  } catch (err) {
    await amqp?.close().catch(() => undefined);
    await amqps?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await engine.close().catch(() => undefined);
    store.close();
    throw err;
  }
  const http = app;
  const address = http.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = urlHost(config.host);
  const amqpUrl = amqpPort === undefined ? undefined : `amqp://${host}:${amqpPort}`;
  const amqpsUrl = amqpsPort === undefined ? undefined : `amqps://${host}:${amqpsPort}`;
  const also = [amqpUrl, amqpsUrl].filter((u) => u !== undefined).map((u) => ` and ${u}`).join('');
  config.log('info', `celeriac broker ${version} listening on ws://${host}:${port}${also} (data: ${config.dataFile}, durability: ${config.durability})`);

  state = 'ready';

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    // Not ready from the first moment of shutdown, so a load balancer stops sending before the sockets go.
    state = 'closing';
    closing ??= (async () => {
      await Promise.all([endpoint.close(), amqp?.close(), amqps?.close()]);
      await http.close();
      await engine.close();
      store.close();
      config.log('info', 'celeriac broker closed');
    })();
    return closing;
  };

  return Object.freeze({
    url: `ws://${host}:${port}`, httpUrl: `http://${host}:${port}`, port, host: config.host, amqpUrl, amqpPort, amqpsUrl, amqpsPort,
    events: engine.events, tasks: engine.tasks, workers: engine.workers, close,
  });
}
