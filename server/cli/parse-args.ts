// broker-server's flags as one table (flag, env var, default, help) and the pure converter
// argv + env -> config. No I/O here, so every rule is unit-tested without spawning a process.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { UserSpec } from '../auth/users.js';
import type { DurabilityMode } from '../store/store.js';
import { DEFAULT_LIMITS } from '../../shared/limits.js';
import { parseUserArg } from './user-arg.js';

/** What broker-server runs with, after flags, environment and defaults are merged. */
export interface BrokerServerConfig {
  port: number;
  host: string;
  /** --amqp-port / CELERIAC_AMQP_PORT: the AMQP 0-9-1 listener's port (0 = any free port); absent = none. */
  amqpPort?: number;
  /** --amqps-port, --amqps-cert, --amqps-key: AMQP over TLS; the PEM files are read by broker-server. All three or none. */
  amqps?: { port: number; certFile: string; keyFile: string };
  /** A file path, or ':memory:' for --memory. Relative paths are kept as given. */
  dataFile: string;
  durability: DurabilityMode;
  /** Users from --user / CELERIAC_USERS; those of usersFile are added by broker-server, which reads it. */
  users: UserSpec[];
  /** --users-file / CELERIAC_USERS_FILE: a file of NAME:PASSWORD lines (see users-file.ts). */
  usersFile?: string;
  /** Set when a password came on the command line, where every local user can read it (ps). */
  passwordsInArgv?: true;
  /** --metrics-open / CELERIAC_METRICS_OPEN: /metrics answers without credentials. */
  metricsOpen?: true;
  /** Virtual hosts that exist; empty = the broker's default, just '/'. Every user may open each. */
  vhosts: string[];
  limits: { maxMessageSize?: number; maxPreAuthSize?: number; maxBodySize?: number; heartbeat?: number; handshakeTimeout?: number };
  /** Default ack timeout (ms) for queues that set no consumerTimeout. */
  consumerTimeout?: number;
  memoryHighWatermark?: number;
  memoryLowWatermark?: number;
  storeHighWatermark?: number;
  /** How log lines are written: `text` (plain lines) or `json` (one JSON object per line). */
  logFormat: LogFormat;
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  /** Events the event log keeps (0 = none stored). */
  eventsMaxCount?: number;
  /** How long the event log keeps an event, ms (0 = none stored). */
  eventsMaxAge?: number;
}

/** The shapes broker-server writes its log lines in. */
export type LogFormat = 'text' | 'json';

/** The result of parsing: run with a config, print help or version, or a usage error (exit 2). */
export type ParseResult =
  | { kind: 'run'; config: BrokerServerConfig }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'error'; message: string };

type ValueKind = 'port' | 'string' | 'bool' | 'list' | 'durability' | 'bytes' | 'duration' | 'user' | 'log-format' | 'count';

interface FlagSpec {
  readonly flag: string;
  /** A one-letter alias (`h` for -h), as the celeriac command's flags have. */
  readonly short?: string;
  readonly env?: string;
  readonly kind: ValueKind;
  /** The default as the usage text shows it. */
  readonly default: string;
  readonly metavar?: string;
  readonly help: string;
}

/**
 * Every flag broker-server takes, in the order --help lists them. docs/broker-server.md and the
 * README's table show the same rows; test/cli/parse-args.test.ts checks they stay in step.
 */
export const FLAGS = [
  { flag: 'port', env: 'CELERIAC_PORT', kind: 'port', default: '5680', metavar: 'N', help: 'TCP port for WebSocket and HTTP; 0 picks a free port' },
  { flag: 'amqp-port', env: 'CELERIAC_AMQP_PORT', kind: 'port', default: 'none (no AMQP listener)', metavar: 'N', help: 'TCP port for AMQP 0-9-1 clients (amqplib, Celery), on --host; 0 picks a free port' },
  { flag: 'amqps-port', env: 'CELERIAC_AMQPS_PORT', kind: 'port', default: 'none (no TLS listener)', metavar: 'N', help: 'TCP port for AMQP 0-9-1 over TLS (amqps://), on --host; needs --amqps-cert and --amqps-key' },
  { flag: 'amqps-cert', env: 'CELERIAC_AMQPS_CERT', kind: 'string', default: 'none', metavar: 'FILE', help: 'the amqps listener\'s certificate chain (PEM file)' },
  { flag: 'amqps-key', env: 'CELERIAC_AMQPS_KEY', kind: 'string', default: 'none', metavar: 'FILE', help: 'the amqps listener\'s private key (PEM file)' },
  { flag: 'host', env: 'CELERIAC_HOST', kind: 'string', default: '127.0.0.1', metavar: 'ADDR', help: 'address to listen on (0.0.0.0 for every interface)' },
  { flag: 'data', env: 'CELERIAC_DATA', kind: 'string', default: './celeriac.db', metavar: 'FILE', help: 'SQLite file holding exchanges, queues and messages' },
  { flag: 'memory', env: 'CELERIAC_MEMORY', kind: 'bool', default: 'off', help: 'keep everything in memory (lost on exit); for tests' },
  { flag: 'user', env: 'CELERIAC_USERS', kind: 'user', default: 'built-in user, loopback only', metavar: 'NAME:PASSWORD', help: 'a user allowed to connect; repeatable (env: comma-separated); NAME+administrator:PASSWORD or NAME+monitoring:PASSWORD also opens the HTTP API. The password shows in the process list (ps): for tests; otherwise use --users-file' },
  { flag: 'users-file', env: 'CELERIAC_USERS_FILE', kind: 'string', default: 'none', metavar: 'FILE', help: 'users allowed to connect, one NAME:PASSWORD (or NAME+TAG:PASSWORD) a line (# comments); the way to give passwords (chmod 600 the file)' },
  { flag: 'vhost', env: 'CELERIAC_VHOSTS', kind: 'list', default: '/', metavar: 'NAME', help: 'a virtual host that exists; repeatable (env: comma-separated); every user may open each' },
  { flag: 'metrics-open', env: 'CELERIAC_METRICS_OPEN', kind: 'bool', default: 'off', help: 'serve /metrics without credentials (for a Prometheus scraper); every other HTTP route still needs a user' },
  { flag: 'durability', env: 'CELERIAC_DURABILITY', kind: 'durability', default: 'full', metavar: 'full|process', help: 'full: confirm after fsync; process: survives kill -9, not power loss' },
  { flag: 'log-format', env: 'CELERIAC_LOG_FORMAT', kind: 'log-format', default: 'text', metavar: 'text|json', help: 'json: one object per line with time, level, msg (and fields); client text is escaped either way' },
  { flag: 'max-message-size', env: 'CELERIAC_MAX_MESSAGE_SIZE', kind: 'bytes', default: '64m', metavar: 'BYTES', help: 'largest WebSocket message (a batch of frames counts whole)' },
  { flag: 'max-body-size', env: 'CELERIAC_MAX_BODY_SIZE', kind: 'bytes', default: '16m', metavar: 'BYTES', help: 'largest message body' },
  { flag: 'heartbeat', env: 'CELERIAC_HEARTBEAT', kind: 'duration', default: '30s', metavar: 'MS', help: 'heartbeat interval proposed to clients (ms, or with s/m/h suffix); 0 = off' },
  { flag: 'handshake-timeout', env: 'CELERIAC_HANDSHAKE_TIMEOUT', kind: 'duration', default: '10s', metavar: 'MS', help: 'close a connection that has not sent its HTTP request headers, or its hello, this long after connecting' },
  { flag: 'max-connections', env: 'CELERIAC_MAX_CONNECTIONS', kind: 'count', default: '10000, or the open-file limit less 64', metavar: 'N', help: 'TCP connections held at once (WebSocket and HTTP); more are refused with 503 ERR_TOO_MANY_CONNECTIONS; 0 = no cap' },
  { flag: 'max-connections-per-address', env: 'CELERIAC_MAX_CONNECTIONS_PER_ADDRESS', kind: 'count', default: 'half of --max-connections', metavar: 'N', help: 'connections from one peer address at once; more are refused the same way; 0 = no cap' },
  { flag: 'consumer-timeout', env: 'CELERIAC_CONSUMER_TIMEOUT', kind: 'duration', default: '30m', metavar: 'MS', help: 'cancel a consumer holding a delivery unacked this long (queues may set their own)' },
  { flag: 'memory-high-watermark', env: 'CELERIAC_MEMORY_HIGH_WATERMARK', kind: 'bytes', default: 'off', metavar: 'BYTES', help: 'block publishers while the messages and buffers the broker holds in memory exceed this; 0 = off' },
  { flag: 'memory-low-watermark', env: 'CELERIAC_MEMORY_LOW_WATERMARK', kind: 'bytes', default: '80% of the high watermark', metavar: 'BYTES', help: 'once blocked for memory, unblock when what the broker holds is back at or under this' },
  { flag: 'store-high-watermark', env: 'CELERIAC_STORE_HIGH_WATERMARK', kind: 'bytes', default: 'off', metavar: 'BYTES', help: 'block publishers while the data file (with its WAL and event segments) is larger than this; 0 = off' },
  { flag: 'events-max-count', env: 'CELERIAC_EVENTS_MAX_COUNT', kind: 'count', default: '100000', metavar: 'N', help: 'events (task and worker events) the broker stores, the newest N; 0 = store none' },
  { flag: 'events-max-age', env: 'CELERIAC_EVENTS_MAX_AGE', kind: 'duration', default: '24h', metavar: 'MS', help: 'how long the broker keeps a stored event (ms, or with s/m/h/d suffix); 0 = store none' },
  { flag: 'help', short: 'h', kind: 'bool', default: '', help: 'print this text and exit' },
  { flag: 'version', kind: 'bool', default: '', help: 'print the version and exit' },
] as const satisfies readonly FlagSpec[];

/** Names of the flags, e.g. 'max-body-size'. */
export type FlagName = (typeof FLAGS)[number]['flag'];

/** The usage text of --help: every flag, its env var and its default. */
export function usage(): string {
  const rows = (FLAGS as readonly FlagSpec[]).map((f) => {
    const left = `  ${f.short === undefined ? '' : `-${f.short}, `}--${f.flag}${f.metavar ? ` ${f.metavar}` : ''}`;
    const extra = [f.env ? `env ${f.env}` : '', f.default ? `default: ${f.default}` : ''].filter(Boolean).join('; ');
    return `${left.padEnd(40)}${f.help}${extra ? `\n${' '.repeat(40)}(${extra})` : ''}`;
  });
  return [
    'Usage: broker-server [options]',
    '',
    'Runs the celeriac broker: WebSocket protocol and HTTP management API on one port,',
    'and with --amqp-port an AMQP 0-9-1 listener on another.',
    'Every option can also be set by its environment variable; a flag wins over the variable.',
    'Sizes take an optional k, m or g suffix (powers of 1024).',
    '',
    'Options:',
    ...rows,
    '',
  ].join('\n');
}

class UsageError extends Error {}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };
const TIME_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseScaled(raw: string, units: Record<string, number>, what: string, source: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = m ? units[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`${source} expects ${what}, got '${raw}'`);
  const value = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(value)) throw new UsageError(`${source} is too large: '${raw}'`);
  return value;
}

function parsePort(raw: string, source: string): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) > 65535) throw new UsageError(`${source} expects a port number 0-65535, got '${raw}'`);
  return Number(raw);
}

function parseBool(raw: string, source: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  throw new UsageError(`${source} expects true or false, got '${raw}'`);
}

function parseUser(raw: string, source: string): UserSpec {
  const parsed = parseUserArg(raw);
  if ('ok' in parsed) return parsed.ok;
  // The shape error quotes the value (the user typed it here); a tag error names only the user.
  throw new UsageError(parsed.error === 'expected NAME:PASSWORD' ? `${source} expects NAME:PASSWORD, got '${raw}'` : `${source}: ${parsed.error}`);
}

function parseCount(raw: string, source: string, zero = 'no cap'): number {
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new UsageError(`${source} expects a whole number (0 = ${zero}), got '${raw}'`);
  return Number(raw);
}

function splitList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

const PARSE_OPTIONS: ParseArgsConfig['options'] = Object.fromEntries(
  (FLAGS as readonly FlagSpec[]).map((f) => [f.flag, {
    ...(f.kind === 'bool' ? { type: 'boolean' as const } : { type: 'string' as const, multiple: f.kind === 'user' || f.kind === 'list' }),
    ...(f.short === undefined ? {} : { short: f.short }),
  }]),
);

/**
 * Turns argv (without node and the script) and the environment into what broker-server does.
 * Never throws and never exits: bad input comes back as `{ kind: 'error' }`.
 */
export function parseBrokerArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ParseResult {
  try {
    return parseOrThrow(argv, env);
  } catch (err) {
    if (err instanceof UsageError) return { kind: 'error', message: err.message };
    // node:util parseArgs throws TypeErrors with an ERR_PARSE_ARGS_* code for unknown flags etc.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return { kind: 'error', message: (err as Error).message.split('\n')[0]! };
    throw err;
  }
}

function parseOrThrow(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParseResult {
  // The options object is built from FLAGS, so parseArgs cannot infer the keys; this is its shape.
  const values = parseArgs({ args: [...argv], options: PARSE_OPTIONS, strict: true, allowPositionals: false })
    .values as Record<string, string | boolean | (string | boolean)[] | undefined>;
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };

  /** The raw value of a flag, else of its env var (marked so messages name the right source). */
  const pick = (flag: FlagName): { raw: string; source: string } | undefined => {
    const v = values[flag];
    if (typeof v === 'string') return { raw: v, source: `--${flag}` };
    const spec = (FLAGS as readonly FlagSpec[]).find((f) => f.flag === flag)!;
    const e = spec.env === undefined ? undefined : env[spec.env];
    if (e !== undefined && e !== '') return { raw: e, source: spec.env! };
    return undefined;
  };
  /** Repeatable flags: the flag's values if given, else the env var split at commas. */
  const pickList = (flag: 'user' | 'vhost', envName: string): { raw: string; source: string }[] => {
    const v = values[flag];
    if (Array.isArray(v) && v.length > 0) return v.map((raw) => ({ raw: String(raw), source: `--${flag}` }));
    const e = env[envName];
    return e === undefined ? [] : splitList(e).map((raw) => ({ raw, source: envName }));
  };
  const bytes = (flag: FlagName): number | undefined => {
    const p = pick(flag);
    return p === undefined ? undefined : parseScaled(p.raw, SIZE_UNITS, 'a size in bytes (k, m or g suffix allowed)', p.source);
  };

  const portArg = pick('port');
  const port = portArg === undefined ? 5680 : parsePort(portArg.raw, portArg.source);
  const host = pick('host')?.raw.trim() || '127.0.0.1';

  const memoryFlag = values.memory === true;
  const memoryEnv = env.CELERIAC_MEMORY === undefined ? false : parseBool(env.CELERIAC_MEMORY, 'CELERIAC_MEMORY');
  const dataArg = pick('data');
  if (memoryFlag && typeof values.data === 'string') throw new UsageError('--memory and --data exclude each other');
  // A flag beats an env var: --data overrides CELERIAC_MEMORY, --memory overrides CELERIAC_DATA.
  const memory = memoryFlag || (memoryEnv && typeof values.data !== 'string');
  if (!memory && dataArg !== undefined && dataArg.raw.trim() === '') throw new UsageError(`${dataArg.source} expects a file name`);
  const dataFile = memory ? ':memory:' : dataArg?.raw ?? './celeriac.db';

  const durArg = pick('durability');
  const durability = durArg?.raw.trim() ?? 'full';
  if (durability !== 'full' && durability !== 'process') throw new UsageError(`${durArg!.source} expects full or process, got '${durArg!.raw}'`);

  const formatArg = pick('log-format');
  const logFormat = formatArg?.raw.trim() ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new UsageError(`${formatArg!.source} expects text or json, got '${formatArg!.raw}'`);

  const vhosts = pickList('vhost', 'CELERIAC_VHOSTS').map((v) => v.raw.trim()).filter((v) => v !== '');
  const users = pickList('user', 'CELERIAC_USERS').map((u) => parseUser(u.raw, u.source));
  const seen = new Set<string>();
  for (const u of users) {
    if (seen.has(u.user)) throw new UsageError(`user '${u.user}' is given twice`);
    seen.add(u.user);
  }
  if (new Set(vhosts).size !== vhosts.length) throw new UsageError('a --vhost is given twice');

  const limits: BrokerServerConfig['limits'] = {};
  const maxMessageSize = bytes('max-message-size');
  const maxBodySize = bytes('max-body-size');
  if (maxMessageSize !== undefined) {
    if (maxMessageSize < 1024) throw new UsageError('--max-message-size must be at least 1k');
    limits.maxMessageSize = maxMessageSize;
    // The pre-hello limit may not exceed the message limit; shrink it along with a small one.
    if (maxMessageSize < DEFAULT_LIMITS.maxPreAuthSize) limits.maxPreAuthSize = maxMessageSize;
  }
  if (maxBodySize !== undefined) {
    if (maxBodySize < 1) throw new UsageError('--max-body-size must be at least 1 byte');
    limits.maxBodySize = maxBodySize;
  }
  const effectiveMessage = limits.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize;
  const effectiveBody = limits.maxBodySize ?? DEFAULT_LIMITS.maxBodySize;
  // A body must fit in one WebSocket message with its frame around it.
  if (effectiveBody >= effectiveMessage) throw new UsageError(`--max-body-size (${effectiveBody}) must be smaller than --max-message-size (${effectiveMessage})`);
  const hb = pick('heartbeat');
  if (hb !== undefined) limits.heartbeat = parseScaled(hb.raw, TIME_UNITS, 'a duration in ms (s, m or h suffix allowed)', hb.source);
  const hs = pick('handshake-timeout');
  if (hs !== undefined) {
    limits.handshakeTimeout = parseScaled(hs.raw, TIME_UNITS, 'a duration in ms (s, m or h suffix allowed)', hs.source);
    if (limits.handshakeTimeout < 1) throw new UsageError(`${hs.source} must be at least 1 ms`);
  }

  const config: BrokerServerConfig = { port, host, dataFile, durability, users, vhosts, limits, logFormat };
  const amqpArg = pick('amqp-port');
  if (amqpArg !== undefined) config.amqpPort = parsePort(amqpArg.raw, amqpArg.source);
  const [amqpsPort, certFile, keyFile] = [pick('amqps-port'), pick('amqps-cert'), pick('amqps-key')];
  if (amqpsPort !== undefined || certFile !== undefined || keyFile !== undefined) {
    if (amqpsPort === undefined || certFile === undefined || keyFile === undefined || certFile.raw.trim() === '' || keyFile.raw.trim() === '') {
      throw new UsageError('--amqps-port, --amqps-cert and --amqps-key go together: give all three');
    }
    config.amqps = { port: parsePort(amqpsPort.raw, amqpsPort.source), certFile: certFile.raw, keyFile: keyFile.raw };
  }
  if (Array.isArray(values.user) && values.user.length > 0) config.passwordsInArgv = true;
  const metricsEnv = env.CELERIAC_METRICS_OPEN === undefined ? false : parseBool(env.CELERIAC_METRICS_OPEN, 'CELERIAC_METRICS_OPEN');
  if (values['metrics-open'] === true || metricsEnv) config.metricsOpen = true;
  const usersFile = pick('users-file');
  if (usersFile !== undefined) {
    if (usersFile.raw.trim() === '') throw new UsageError(`${usersFile.source} expects a file name`);
    config.usersFile = usersFile.raw;
  }
  const maxConnections = pick('max-connections');
  if (maxConnections !== undefined) config.maxConnections = parseCount(maxConnections.raw, maxConnections.source);
  const perAddress = pick('max-connections-per-address');
  if (perAddress !== undefined) config.maxConnectionsPerAddress = parseCount(perAddress.raw, perAddress.source);
  const ct = pick('consumer-timeout');
  if (ct !== undefined) {
    config.consumerTimeout = parseScaled(ct.raw, TIME_UNITS, 'a duration in ms (s, m or h suffix allowed)', ct.source);
    if (config.consumerTimeout < 1) throw new UsageError(`${ct.source} must be at least 1 ms`);
  }
  const memoryHighWatermark = bytes('memory-high-watermark');
  const memoryLowWatermark = bytes('memory-low-watermark');
  const storeHighWatermark = bytes('store-high-watermark');
  if (memoryHighWatermark !== undefined) config.memoryHighWatermark = memoryHighWatermark;
  if (memoryLowWatermark !== undefined) {
    if (memoryHighWatermark === undefined || memoryHighWatermark === 0) throw new UsageError('--memory-low-watermark needs --memory-high-watermark');
    if (memoryLowWatermark >= memoryHighWatermark) throw new UsageError(`--memory-low-watermark (${memoryLowWatermark}) must be below --memory-high-watermark (${memoryHighWatermark})`);
    config.memoryLowWatermark = memoryLowWatermark;
  }
  if (storeHighWatermark !== undefined) config.storeHighWatermark = storeHighWatermark;
  const eventsCount = pick('events-max-count');
  if (eventsCount !== undefined) config.eventsMaxCount = parseCount(eventsCount.raw, eventsCount.source, 'store no events');
  const eventsAge = pick('events-max-age');
  if (eventsAge !== undefined) config.eventsMaxAge = parseScaled(eventsAge.raw, TIME_UNITS, 'a duration in ms (s, m, h or d suffix allowed)', eventsAge.source);
  return { kind: 'run', config };
}
