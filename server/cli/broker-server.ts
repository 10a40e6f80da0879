#!/usr/bin/env node
// The `broker-server` command: parse flags, start the broker, print its URLs, shut down cleanly
// on SIGINT/SIGTERM. Start-up failures become one line on stderr and exit 1, bad flags exit 2.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { UserSpec } from '../auth/users.js';
import { packageVersion } from '../broker.js';
import { startBroker, type Broker, type LogLevel } from '../index.js';
import { formatLogLine, type LogRecord } from './log-lines.js';
import { parseBrokerArgs, usage, type BrokerServerConfig, type LogFormat } from './parse-args.js';
import { describeStartError } from './start-errors.js';
import { parseUsersFile } from './users-file.js';

const NAME = 'broker-server';

/** Fails fast with a clear reason before SQLite gets to say something vaguer ("unable to open"). */
function checkDataFile(dataFile: string): string | undefined {
  if (dataFile === ':memory:') return undefined;
  const file = resolve(dataFile);
  const dir = dirname(file);
  if (!existsSync(dir)) return `cannot use data file ${file}: directory ${dir} does not exist`;
  if (!statSync(dir).isDirectory()) return `cannot use data file ${file}: ${dir} is not a directory`;
  if (existsSync(file) && statSync(file).isDirectory()) return `cannot use data file ${file}: it is a directory`;
  return undefined;
}

/** Text until the flags are parsed (a bad flag is reported as text), then --log-format's choice. */
let logFormat: LogFormat = 'text';

/** Writes one log line: info to stdout, warnings and errors to stderr, in either format. */
function writeLog(record: LogRecord): void {
  (record.level === 'info' ? process.stdout : process.stderr).write(`${formatLogLine(logFormat, record, new Date())}\n`);
}

/** The command's own failures: `broker-server: message` as text, an error record as json. */
function reportFailure(message: string, fields?: LogRecord['fields']): void {
  if (logFormat === 'json') writeLog({ level: 'error', msg: message, ...(fields === undefined ? {} : { fields }) });
  else process.stderr.write(`${NAME}: ${message}\n`);
}

/** A start-up warning: `broker-server: warn: message` as text, a warn record as json. */
function warnAtStart(message: string): void {
  if (logFormat === 'json') writeLog({ level: 'warn', msg: message });
  else process.stderr.write(`${NAME}: warn: ${message}\n`);
}

/**
 * Users of --users-file added to those of --user. An unreadable file stops the start (exit 1), a
 * malformed one is a bad value (exit 2); a file other users may read gets a warning, as ssh does.
 */
function usersOf(config: BrokerServerConfig): UserSpec[] {
  if (config.usersFile === undefined) return config.users;
  const file = resolve(config.usersFile);
  let text: string;
  let mode: number;
  try {
    text = readFileSync(file, 'utf8');
    mode = statSync(file).mode;
  } catch (err) {
    die(`cannot read users file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 1);
  }
  let fromFile: UserSpec[];
  try {
    fromFile = parseUsersFile(text, file);
  } catch (err) {
    die(`${(err as Error).message} (see ${NAME} --help)`, 2);
  }
  if ((mode & 0o077) !== 0) warnAtStart(`users file ${file} may be read by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  const users = [...config.users, ...fromFile];
  const seen = new Set<string>();
  for (const u of users) {
    if (seen.has(u.user)) die(`user '${u.user}' is given twice (--user / --users-file) (see ${NAME} --help)`, 2);
    seen.add(u.user);
  }
  return users;
}

/** The amqps listener's PEM files, read now: an unreadable one stops the start (exit 1). */
function amqpsOf(config: BrokerServerConfig): { amqpsPort: number; amqpsCert: Buffer; amqpsKey: Buffer } | undefined {
  if (config.amqps === undefined) return undefined;
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(resolve(file));
    } catch (err) {
      die(`cannot read the amqps ${what} ${resolve(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 1);
    }
  };
  return { amqpsPort: config.amqps.port, amqpsCert: read(config.amqps.certFile, 'certificate'), amqpsKey: read(config.amqps.keyFile, 'key') };
}

function die(message: string, code: number): never {
  reportFailure(message);
  process.exit(code);
}

async function main(): Promise<void> {
  const parsed = parseBrokerArgs(process.argv.slice(2), process.env);
  if (parsed.kind === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`celeriac ${packageVersion()}\n`);
    return;
  }
  if (parsed.kind === 'error') die(`${parsed.message} (see ${NAME} --help)`, 2);
  const config: BrokerServerConfig = parsed.config;
  logFormat = config.logFormat;

  if (config.passwordsInArgv === true) {
    warnAtStart('--user puts its password in the process list, readable by every local user; use --users-file FILE (or CELERIAC_USERS_FILE)');
  }
  const users = usersOf(config);
  const amqps = amqpsOf(config);
  const dataProblem = checkDataFile(config.dataFile);
  if (dataProblem !== undefined) die(dataProblem, 1);
  const dataFile = config.dataFile === ':memory:' ? ':memory:' : resolve(config.dataFile);

  // Signals may arrive while the broker is still starting: remember, and stop once it is up.
  let signalled: NodeJS.Signals | undefined;
  let stop: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled !== undefined) {
      // A second Ctrl-C means "now": skip the clean shutdown.
      reportFailure(`${signal} again, exiting without a clean shutdown`, { signal });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    signalled = signal;
    stop?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // The broker's start-up info lines repeat what the line below says; later info goes to stdout,
  // warnings and errors to stderr.
  let started = false;
  const log = (level: LogLevel, msg: string): void => {
    if (level !== 'info' || started) writeLog({ level, msg });
  };

  let broker: Broker;
  try {
    broker = await startBroker({
      port: config.port,
      host: config.host,
      ...(config.amqpPort === undefined ? {} : { amqpPort: config.amqpPort }),
      ...(amqps ?? {}),
      dataFile,
      durability: config.durability,
      ...(users.length === 0 ? {} : { users }),
      ...(config.vhosts.length === 0 ? {} : { vhosts: config.vhosts }),
      limits: config.limits,
      ...(config.memoryHighWatermark === undefined ? {} : { memoryHighWatermark: config.memoryHighWatermark }),
      ...(config.memoryLowWatermark === undefined ? {} : { memoryLowWatermark: config.memoryLowWatermark }),
      ...(config.storeHighWatermark === undefined ? {} : { storeHighWatermark: config.storeHighWatermark }),
      ...(config.consumerTimeout === undefined ? {} : { defaultConsumerTimeout: config.consumerTimeout }),
      ...(config.maxConnections === undefined ? {} : { maxConnections: config.maxConnections }),
      ...(config.maxConnectionsPerAddress === undefined ? {} : { maxConnectionsPerAddress: config.maxConnectionsPerAddress }),
      ...(config.metricsOpen === true ? { metricsOpen: true } : {}),
      ...(config.eventsMaxCount === undefined ? {} : { eventsMaxCount: config.eventsMaxCount }),
      ...(config.eventsMaxAge === undefined ? {} : { eventsMaxAge: config.eventsMaxAge }),
      log,
    });
  } catch (err) {
    die(describeStartError(err, { port: config.port, host: config.host, dataFile }), 1);
  }
  started = true;

  writeLog({
    level: 'info',
    msg: `celeriac broker listening on ${broker.url} (${broker.httpUrl})${[broker.amqpUrl, broker.amqpsUrl].filter((u) => u !== undefined).map((u) => ` and ${u}`).join('')}, data ${dataFile}, durability ${config.durability}`,
    fields: {
      url: broker.url, httpUrl: broker.httpUrl,
      ...(broker.amqpUrl === undefined ? {} : { amqpUrl: broker.amqpUrl }),
      ...(broker.amqpsUrl === undefined ? {} : { amqpsUrl: broker.amqpsUrl }),
      data: dataFile, durability: config.durability,
    },
  });

  stop = () => {
    stop = undefined;
    writeLog({ level: 'info', msg: `celeriac broker shutting down (${signalled ?? 'signal'})`, fields: { signal: signalled ?? 'signal' } });
    broker.close().then(
      () => process.exit(0),
      (err: unknown) => die(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`, 1),
    );
  };
  if (signalled !== undefined) stop();
}

main().catch((err: unknown) => die(`unexpected error: ${err instanceof Error ? err.message : String(err)}`, 1));
