// broker-server's argv + env -> config, without spawning anything: defaults, every flag, its
// env var, precedence, and the usage errors that make the command exit 2.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FLAGS, parseBrokerArgs, usage, type BrokerServerConfig } from '../../server/cli/parse-args.js';

function run(argv: string[], env: Record<string, string> = {}): BrokerServerConfig {
  const r = parseBrokerArgs(argv, env);
  if (r.kind !== 'run') throw new Error(`expected a config, got ${JSON.stringify(r)}`);
  return r.config;
}

function usageError(argv: string[], env: Record<string, string> = {}): string {
  const r = parseBrokerArgs(argv, env);
  if (r.kind !== 'error') throw new Error(`expected a usage error, got ${JSON.stringify(r)}`);
  return r.message;
}

t.test('defaults: 127.0.0.1:5680, ./celeriac.db, durability full, no users', async (t) => {
  t.strictSame(run([]), {
    port: 5680, host: '127.0.0.1', dataFile: './celeriac.db', durability: 'full', users: [], vhosts: [], limits: {}, logFormat: 'text',
  });
});

t.test('every flag', async (t) => {
  const c = run([
    '--port', '0', '--host', '0.0.0.0', '--data', '/tmp/x.db', '--durability', 'process',
    '--user', 'alice:s3cret', '--user', 'bob:pa:ss', '--vhost', 'prod', '--vhost', 'staging',
    '--max-message-size', '2m', '--max-body-size', '512k', '--heartbeat', '5s',
    '--memory-high-watermark', '1g', '--memory-low-watermark', '768m', '--store-high-watermark', '10G', '--consumer-timeout', '1h', '--log-format', 'json',
    '--users-file', 'users.txt', '--handshake-timeout', '2s', '--max-connections', '500', '--max-connections-per-address', '50',
  ]);
  t.strictSame(c, {
    port: 0, host: '0.0.0.0', dataFile: '/tmp/x.db', durability: 'process',
    users: [{ user: 'alice', password: 's3cret' }, { user: 'bob', password: 'pa:ss' }],
    vhosts: ['prod', 'staging'],
    limits: { maxMessageSize: 2 * 1024 ** 2, maxBodySize: 512 * 1024, heartbeat: 5000, handshakeTimeout: 2000 },
    consumerTimeout: 3_600_000, memoryHighWatermark: 1024 ** 3, memoryLowWatermark: 768 * 1024 ** 2, storeHighWatermark: 10 * 1024 ** 3, logFormat: 'json',
    passwordsInArgv: true, usersFile: 'users.txt', maxConnections: 500, maxConnectionsPerAddress: 50,
  });
  t.equal(run(['--port=6000']).port, 6000, '--flag=value works too');
});

t.test('--memory-low-watermark must sit below a high watermark', async (t) => {
  t.match(usageError(['--memory-high-watermark', '100m', '--memory-low-watermark', '100m']), /must be below --memory-high-watermark/);
  t.match(usageError(['--memory-low-watermark', '10m']), /needs --memory-high-watermark/);
  t.equal(run(['--memory-high-watermark', '100m']).memoryLowWatermark, undefined, 'default: the broker takes 80% of the high one');
});

t.test('--memory', async (t) => {
  t.equal(run(['--memory']).dataFile, ':memory:');
  t.match(usageError(['--memory', '--data', 'x.db']), /exclude each other/);
  t.equal(run([], { CELERIAC_MEMORY: '1' }).dataFile, ':memory:', 'CELERIAC_MEMORY=1');
  t.equal(run([], { CELERIAC_MEMORY: 'false' }).dataFile, './celeriac.db', 'CELERIAC_MEMORY=false');
  t.equal(run(['--data', 'a.db'], { CELERIAC_MEMORY: 'true' }).dataFile, 'a.db', '--data beats CELERIAC_MEMORY');
  t.equal(run(['--memory'], { CELERIAC_DATA: 'a.db' }).dataFile, ':memory:', '--memory beats CELERIAC_DATA');
  t.match(usageError([], { CELERIAC_MEMORY: 'maybe' }), /CELERIAC_MEMORY expects true or false/);
});

t.test('environment variables, and flags winning over them', async (t) => {
  const env = {
    CELERIAC_PORT: '7000', CELERIAC_HOST: '::1', CELERIAC_DATA: 'env.db', CELERIAC_DURABILITY: 'process',
    CELERIAC_USERS: 'a:1, b:2', CELERIAC_VHOSTS: 'v1,v2', CELERIAC_MAX_MESSAGE_SIZE: '4m', CELERIAC_MAX_BODY_SIZE: '1m',
    CELERIAC_HEARTBEAT: '2000', CELERIAC_CONSUMER_TIMEOUT: '90s', CELERIAC_MEMORY_HIGH_WATERMARK: '100m', CELERIAC_STORE_HIGH_WATERMARK: '1g',
    CELERIAC_LOG_FORMAT: 'json',
  };
  const c = run([], env);
  t.equal(c.port, 7000);
  t.equal(c.host, '::1');
  t.equal(c.dataFile, 'env.db');
  t.equal(c.durability, 'process');
  t.strictSame(c.users, [{ user: 'a', password: '1' }, { user: 'b', password: '2' }]);
  t.strictSame(c.vhosts, ['v1', 'v2']);
  t.strictSame(c.limits, { maxMessageSize: 4 * 1024 ** 2, maxBodySize: 1024 ** 2, heartbeat: 2000 });
  t.equal(c.memoryHighWatermark, 100 * 1024 ** 2);
  t.equal(c.storeHighWatermark, 1024 ** 3);
  t.equal(c.consumerTimeout, 90_000);
  t.equal(c.logFormat, 'json');

  const f = run(['--port', '1', '--user', 'z:9', '--durability', 'full'], env);
  t.equal(f.port, 1, '--port beats CELERIAC_PORT');
  t.strictSame(f.users.map((u) => u.user), ['z'], '--user replaces CELERIAC_USERS');
  t.equal(f.durability, 'full');
  t.equal(run(['--log-format', 'text'], env).logFormat, 'text', '--log-format beats CELERIAC_LOG_FORMAT');
  t.equal(run([], { CELERIAC_PORT: '' }).port, 5680, 'an empty variable counts as unset');
});

t.test('tags in --user and CELERIAC_USERS; --metrics-open and CELERIAC_METRICS_OPEN', async (t) => {
  t.strictSame(run(['--user', 'ops+administrator:s3:cret', '--user', 'app:pw']).users, [
    { user: 'ops', password: 's3:cret', tags: ['administrator'] },
    { user: 'app', password: 'pw' },
  ]);
  t.strictSame(run([], { CELERIAC_USERS: 'eye+monitoring:x,ops+administrator:y' }).users, [
    { user: 'eye', password: 'x', tags: ['monitoring'] },
    { user: 'ops', password: 'y', tags: ['administrator'] },
  ]);
  t.match(usageError(['--user', 'ops+admin:pw']), /^--user: user 'ops' has an unknown tag 'admin' \(known: administrator, monitoring\)$/);
  t.equal(run([]).metricsOpen, undefined, 'closed by default');
  t.equal(run(['--metrics-open']).metricsOpen, true);
  t.equal(run([], { CELERIAC_METRICS_OPEN: 'true' }).metricsOpen, true);
  t.equal(run([], { CELERIAC_METRICS_OPEN: 'no' }).metricsOpen, undefined);
  t.match(usageError([], { CELERIAC_METRICS_OPEN: 'maybe' }), /CELERIAC_METRICS_OPEN expects true or false/);
});

t.test('sizes and durations', async (t) => {
  const body = (v: string): number | undefined => run(['--max-body-size', v]).limits.maxBodySize;
  t.equal(body('100'), 100);
  t.equal(body('1k'), 1024);
  t.equal(body('1KB'), 1024);
  t.equal(body('1.5m'), 1.5 * 1024 ** 2);
  t.equal(run(['--heartbeat', '0']).limits.heartbeat, 0, 'heartbeat 0 turns heartbeats off');
  t.equal(run(['--heartbeat', '250ms']).limits.heartbeat, 250);
  t.equal(run(['--heartbeat', '1m']).limits.heartbeat, 60_000);
  t.strictSame(run(['--max-message-size', '4k', '--max-body-size', '1k']).limits, { maxMessageSize: 4096, maxPreAuthSize: 4096, maxBodySize: 1024 }, 'a small message limit shrinks the pre-hello limit with it');
});

t.test('bad values are usage errors naming the flag or variable', async (t) => {
  t.match(usageError(['--port', 'abc']), /--port expects a port number/);
  t.match(usageError(['--port', '70000']), /--port expects a port number/);
  t.match(usageError(['--port', '-1']), /port|option/i);
  t.match(usageError([], { CELERIAC_PORT: 'x' }), /CELERIAC_PORT expects a port number/);
  t.match(usageError(['--durability', 'lazy']), /--durability expects full or process, got 'lazy'/);
  t.match(usageError(['--log-format', 'xml']), /--log-format expects text or json, got 'xml'/);
  t.match(usageError([], { CELERIAC_LOG_FORMAT: 'yaml' }), /CELERIAC_LOG_FORMAT expects text or json/);
  t.match(usageError(['--max-body-size', '10x']), /--max-body-size expects a size/);
  t.match(usageError(['--max-body-size', '0']), /at least 1 byte/);
  t.match(usageError(['--max-message-size', '10']), /at least 1k/);
  t.match(usageError(['--max-body-size', '64m']), /must be smaller than --max-message-size/);
  t.match(usageError(['--heartbeat', 'soon']), /--heartbeat expects a duration/);
  t.match(usageError(['--user', 'nopassword']), /--user expects NAME:PASSWORD/);
  t.match(usageError(['--user', ':pw']), /NAME:PASSWORD/);
  t.match(usageError(['--user', 'a:1', '--user', 'a:2']), /given twice/);
  t.match(usageError(['--vhost', 'v', '--vhost', 'v']), /given twice/);
  t.match(usageError(['--consumer-timeout', '0']), /at least 1 ms/);
  t.match(usageError(['--data', '']), /expects a file name/);
  t.match(usageError(['--bogus']), /bogus/);
  t.match(usageError(['stray']), /stray/);
  t.match(usageError(['--port']), /port/);
  for (const argv of [['--port', 'abc'], ['--bogus'], ['--durability', 'x']]) {
    t.notMatch(usageError(argv), /\n/, `${argv.join(' ')}: one line`);
  }
});

t.test('--help and --version', async (t) => {
  t.strictSame(parseBrokerArgs(['--help']), { kind: 'help' });
  t.strictSame(parseBrokerArgs(['--port', 'bad', '--help']), { kind: 'help' }, '--help wins over bad values');
  t.strictSame(parseBrokerArgs(['--version']), { kind: 'version' });
  t.strictSame(parseBrokerArgs(['-h']), { kind: 'help' }, '-h is --help, as in the celeriac command');
  t.match(usage(), /^ {2}-h, --help /m, 'and the usage text shows it');
});

t.test('the usage text lists every flag with its env var and default', async (t) => {
  const text = usage();
  for (const f of FLAGS) {
    t.match(text, `--${f.flag}`, `--${f.flag} listed`);
    if ('env' in f) t.match(text, f.env, `${f.env} listed`);
    if (f.default !== '') t.match(text, `default: ${f.default}`, `default of --${f.flag} listed`);
  }
});

t.test('docs/broker-server.md and the README show every flag and env var', async (t) => {
  for (const doc of ['../../docs/broker-server.md', '../../README.md']) {
    const text = readFileSync(fileURLToPath(new URL(doc, import.meta.url)), 'utf8');
    for (const f of FLAGS) {
      t.match(text, `--${f.flag}`, `${doc}: --${f.flag}`);
      if ('env' in f) t.match(text, f.env, `${doc}: ${f.env}`);
    }
  }
});

t.test('the events retention flags, by flag and by env var; 0 stores none', async (t) => {
  t.equal(run([]).eventsMaxCount, undefined, 'unset: the broker\'s default');
  const c = run(['--events-max-count', '5000', '--events-max-age', '7d']);
  t.equal(c.eventsMaxCount, 5000);
  t.equal(c.eventsMaxAge, 7 * 86_400_000, 'a d suffix is days');
  const e = run([], { CELERIAC_EVENTS_MAX_COUNT: '0', CELERIAC_EVENTS_MAX_AGE: '90m' });
  t.equal(e.eventsMaxCount, 0);
  t.equal(e.eventsMaxAge, 90 * 60_000);
  t.match(usageError(['--events-max-count', 'many']), /--events-max-count expects a whole number \(0 = store no events\)/);
  t.match(usageError(['--events-max-age', 'a day']), /--events-max-age expects a duration/);
});

t.test('--amqp-port, by flag and by env var; unset means no AMQP listener', async (t) => {
  t.equal(run([]).amqpPort, undefined);
  t.equal(run(['--amqp-port', '5672']).amqpPort, 5672);
  t.equal(run([], { CELERIAC_AMQP_PORT: '0' }).amqpPort, 0, '0 picks a free port');
  t.equal(run(['--amqp-port', '5673'], { CELERIAC_AMQP_PORT: '5672' }).amqpPort, 5673, 'the flag wins');
  t.match(usageError(['--amqp-port', 'amqp']), /--amqp-port expects a port number 0-65535/);
  t.match(usageError([], { CELERIAC_AMQP_PORT: '70000' }), /CELERIAC_AMQP_PORT expects a port number/);
});

t.test('--amqps-port, --amqps-cert and --amqps-key: all three, by flag or env var, or none', async (t) => {
  t.equal(run([]).amqps, undefined);
  t.same(run(['--amqps-port', '5671', '--amqps-cert', 'c.pem', '--amqps-key', 'k.pem']).amqps, { port: 5671, certFile: 'c.pem', keyFile: 'k.pem' });
  t.same(run([], { CELERIAC_AMQPS_PORT: '0', CELERIAC_AMQPS_CERT: '/tls/c.pem', CELERIAC_AMQPS_KEY: '/tls/k.pem' }).amqps, { port: 0, certFile: '/tls/c.pem', keyFile: '/tls/k.pem' });
  t.match(usageError(['--amqps-port', '5671']), /--amqps-port, --amqps-cert and --amqps-key go together/);
  t.match(usageError(['--amqps-cert', 'c.pem', '--amqps-key', 'k.pem']), /go together/);
  t.match(usageError(['--amqps-port', 'tls', '--amqps-cert', 'c.pem', '--amqps-key', 'k.pem']), /--amqps-port expects a port number/);
});

t.test('--users-file, the connection caps and the handshake timeout, by flag and by env var', async (t) => {
  t.equal(run([], { CELERIAC_USERS_FILE: '/etc/celeriac/users' }).usersFile, '/etc/celeriac/users');
  t.equal(run(['--users-file', 'a.txt'], { CELERIAC_USERS_FILE: 'b.txt' }).usersFile, 'a.txt', 'the flag wins');
  t.equal(run([], { CELERIAC_USERS: 'a:1' }).passwordsInArgv, undefined, 'CELERIAC_USERS is not the command line');
  t.match(usageError(['--users-file', '']), /--users-file expects a file name/);
  const c = run([], { CELERIAC_MAX_CONNECTIONS: '0', CELERIAC_MAX_CONNECTIONS_PER_ADDRESS: '7', CELERIAC_HANDSHAKE_TIMEOUT: '1500' });
  t.equal(c.maxConnections, 0, '0 = no cap');
  t.equal(c.maxConnectionsPerAddress, 7);
  t.equal(c.limits.handshakeTimeout, 1500);
  t.match(usageError(['--max-connections', 'lots']), /--max-connections expects a whole number/);
  t.match(usageError(['--max-connections-per-address=-1']), /expects a whole number/);
  t.match(usageError(['--handshake-timeout', '0']), /--handshake-timeout must be at least 1 ms/);
  t.match(usage(), /--user NAME:PASSWORD.*process list.*--users-file/s, '--help says which to use');
});
