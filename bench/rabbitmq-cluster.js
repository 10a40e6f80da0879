// A RabbitMQ cluster on this machine for the scale bench: `size` nodes of Debian's rabbitmq-server
// on loopback, each with its own node name, AMQP and distribution ports and data, sharing one
// Erlang cookie and one epmd (our child), joined into one cluster. The plain-JS twin of
// startRabbitCluster in test/helpers/rabbitmq.ts (bench/ runs over dist/ without the test tooling).
//
// Every process is spawned through `setpriv --pdeathsig TERM` and leads its own process group:
// stopping a node is SIGTERM to its rabbitmq-server (RabbitMQ's clean stop), then SIGKILL to that
// group only; the kernel TERMs what is left if the bench itself dies. Nothing is stopped by name.
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deferred, freePort, onInterrupt, sleep, tempDir, withTimeout } from './harness.js';

const RABBIT_BIN = '/usr/lib/rabbitmq/bin';
const EPMD = '/usr/bin/epmd';
/** A boot costs ~8 s of CPU: 15-30 s on a busy 2-core machine. This bounds a broken one. */
const BOOT_TIMEOUT_MS = 120_000;
/** rabbitmqctl boots an Erlang VM and Elixir every time: 2.5-4 s of CPU per call. */
const CTL_TIMEOUT_MS = 90_000;

/** True when Debian's rabbitmq-server (and its epmd) are installed. */
export const clusterInstalled = () => existsSync(join(RABBIT_BIN, 'rabbitmq-server')) && existsSync(EPMD);

/** Erlang's cookie: letters only, as `erl` makes them. */
const newCookie = () => Array.from(randomBytes(20), (b) => String.fromCharCode(65 + (b % 26))).join('');

/** This process's environment without RabbitMQ's and Erlang's own variables. */
function baseEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RABBITMQ_') && !k.startsWith('ERL_')) env[k] = v;
  return env;
}

/** One TCP connect to 127.0.0.1:`port`: true when something accepts. */
function accepts(port) {
  return new Promise((res) => {
    const s = createConnection({ host: '127.0.0.1', port });
    const done = (ok) => { s.destroy(); res(ok); };
    s.setTimeout(1_000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Spawns a long-running program as the leader of its own process group. Returns { pid, output(),
 * waitFor(pattern, ms, what), running(), stop(graceMs) }.
 */
function startProcess(command, args, env) {
  const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'TERM', '--', command, ...args], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set();
  const append = (c) => { out = (out + c).slice(-262_144); for (const l of listeners) l(); };
  child.stdout.setEncoding('utf8').on('data', append);
  child.stderr.setEncoding('utf8').on('data', append);
  const exited = deferred();
  let done = false;
  child.once('close', (code, signal) => { done = true; for (const l of listeners) l(); exited.resolve({ code, signal }); });
  const killGroup = (signal) => { try { process.kill(-child.pid, signal); } catch { /* group already gone */ } };
  let stopping;
  return {
    pid: child.pid,
    output: () => out,
    running: () => !done,
    waitFor(pattern, ms, what) {
      return withTimeout(new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out)) { listeners.delete(check); resolve(); }
          else if (done) { listeners.delete(check); reject(new Error(`${what}: the process exited first:\n${out.slice(-4000)}`)); }
        };
        listeners.add(check);
        check();
      }), ms, what);
    },
    stop: (graceMs = 20_000) => (stopping ??= (async () => {
      if (!done) {
        child.kill('SIGTERM');
        const r = await Promise.race([exited.promise, sleep(graceMs).then(() => undefined)]);
        if (!r) killGroup('SIGKILL');
      }
      await exited.promise;
      killGroup('SIGKILL'); // an Erlang port program that outlived its VM
    })()),
  };
}

/** Runs rabbitmqctl with `env`; resolves stdout, rejects on a non-zero exit or after the timeout. */
function ctl(env, nodeName, args, timeoutMs = CTL_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    execFile(join(RABBIT_BIN, 'rabbitmqctl'), ['-n', nodeName, ...args], { env, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`rabbitmqctl ${args.join(' ')} on ${nodeName}: ${err.message}\n${stderr}${stdout}`));
      else resolve(stdout);
    });
  });
}

/**
 * Starts `size` nodes side by side, then joins each node after the first to the first (stop_app,
 * join_cluster, start_app). Returns { nodes: [{ index, nodeName, port, url, running() }],
 * stopNode(i), startNode(i), ctl(i, args), stop() }; stop() also runs on Ctrl-C.
 * `log` gets a line per step (boots take seconds).
 */
export async function startRabbitCluster({ size = 3, log = () => {} } = {}) {
  const dir = tempDir('rabbit-cluster');
  const home = join(dir.path, 'home');
  mkdirSync(home);
  writeFileSync(join(home, '.erlang.cookie'), newCookie(), { mode: 0o400 });
  writeFileSync(join(dir.path, 'rabbitmq-env.conf'), '');
  writeFileSync(join(dir.path, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir.path, 'rabbitmq.conf'), '');
  const epmdPort = await freePort();
  const epmd = startProcess(EPMD, ['-port', String(epmdPort), '-address', '127.0.0.1'], baseEnv());
  const procs = new Array(size);
  const nodes = [];
  for (let i = 0; i < size; i++) {
    const port = await freePort();
    const distPort = await freePort();
    const short = `celeriacbench-n${i + 1}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const base = join(dir.path, short);
    const env = {
      ...baseEnv(),
      HOME: home,
      RABBITMQ_NODENAME: `${short}@localhost`,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      ERL_EPMD_PORT: String(epmdPort),
      RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
      RABBITMQ_LOG_BASE: join(base, 'log'),
      RABBITMQ_CONF_ENV_FILE: join(dir.path, 'rabbitmq-env.conf'),
      RABBITMQ_CONFIG_FILE: join(dir.path, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(dir.path, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir.path, 'enabled_plugins'),
      // Erlang distribution (clustering, rabbitmqctl) on loopback only, like AMQP.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
    nodes.push({ index: i, nodeName: `${short}@localhost`, port, url: `amqp://guest:guest@127.0.0.1:${port}`, env, running: () => procs[i]?.running() ?? false });
  }

  let stopped;
  const stop = () => (stopped ??= (async () => {
    off();
    await Promise.all(procs.map((p) => p?.stop()));
    await epmd.stop(5_000);
    dir.remove();
  })());
  const off = onInterrupt(stop);

  /** Boots node `i`: waits for RabbitMQ's "Starting broker... completed", then its AMQP port. */
  const boot = async (i) => {
    const n = nodes[i];
    if (procs[i]?.running()) throw new Error(`${n.nodeName} is already running`);
    const p = startProcess(join(RABBIT_BIN, 'rabbitmq-server'), [], n.env);
    procs[i] = p;
    try {
      await p.waitFor(/Starting broker\.\.\. completed/, BOOT_TIMEOUT_MS, `node ${i + 1} to boot`);
      for (const end = Date.now() + 10_000; !(await accepts(n.port));) {
        if (Date.now() > end) throw new Error(`node ${i + 1} booted but its port ${n.port} does not accept`);
        await sleep(100);
      }
    } catch (err) {
      await p.stop();
      throw err;
    }
  };

  try {
    for (let end = Date.now() + 10_000; !(await accepts(epmdPort));) {
      if (!epmd.running() || Date.now() > end) throw new Error(`epmd did not start:\n${epmd.output()}`);
      await sleep(50);
    }
    log(`booting ${size} RabbitMQ nodes...`);
    await Promise.all(nodes.map((_, i) => boot(i)));
    log(`joining nodes 2..${size} to node 1...`);
    const seed = nodes[0];
    await Promise.all(nodes.slice(1).map(async (n) => {
      await ctl(n.env, n.nodeName, ['stop_app']);
      await ctl(n.env, n.nodeName, ['join_cluster', seed.nodeName]);
      await ctl(n.env, n.nodeName, ['start_app']);
    }));
  } catch (err) {
    await stop();
    throw err;
  }
  const at = (i) => {
    if (!nodes[i]) throw new Error(`no node ${i + 1} in a cluster of ${size}`);
    return i;
  };
  return {
    nodes: nodes.map(({ env: _env, ...n }) => n),
    /** Stops node `i` (0-based) cleanly; the others keep running. */
    stopNode: async (i) => { await procs[at(i)]?.stop(); },
    /** Boots node `i` again with its data: it rejoins the cluster. */
    startNode: (i) => boot(at(i)),
    /** rabbitmqctl against node `i`. */
    ctl: (i, args, timeoutMs) => ctl(nodes[at(i)].env, nodes[i].nodeName, args, timeoutMs),
    stop,
  };
}
