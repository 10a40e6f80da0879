// Real RabbitMQ for tests: Debian's rabbitmq-server run as a child on loopback, with its own free
// ports, epmd, node name, Erlang cookie and data in a temp dir; stopped, with its epmd, in teardown.
import type { Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, freePorts, untilListening } from './ports.js';
import { runCommand, startService, type Service } from './service-process.js';

/** Debian's scripts: these run the broker as the calling user (/usr/sbin's wrappers switch to `rabbitmq`). */
const RABBIT_BIN = '/usr/lib/rabbitmq/bin';
const EPMD = '/usr/bin/epmd';
/**
 * A node's boot costs about 8 s of CPU: 15-30 s of wall time on a 2-core machine with a load of 10-14
 * (measured). This is only the limit for a broken one.
 */
const BOOT_TIMEOUT_MS = 90_000;
/** rabbitmqctl starts an Erlang VM and Elixir each time: 2.5-4 s per call on that machine. */
const CTL_TIMEOUT_MS = 60_000;

/** Options of `startRabbit` and `startRabbitCluster`. */
export interface RabbitOptions {
  /** A user besides `guest`, with every permission on vhost `/` (guest is only allowed from loopback). */
  user?: { name: string; password: string };
}

/** A running RabbitMQ node (one broker, or one member of a cluster). */
export interface RabbitNode {
  /** `amqp://guest:guest@127.0.0.1:PORT` (guest may log in over loopback). */
  readonly url: string;
  /** The AMQP port on 127.0.0.1. */
  readonly port: number;
  /** The Erlang node name, `…@localhost`. */
  readonly nodeName: string;
  /** Milliseconds its last boot took, from spawn to its AMQP port accepting after boot completed. */
  bootMs(): number;
  /** Runs `rabbitmqctl -n <node> ...args` with this node's environment; resolves stdout, rejects on a non-zero exit. */
  ctl(args: readonly string[], timeoutMs?: number): Promise<string>;
}

/** One RabbitMQ broker started by `startRabbit`. */
export interface Rabbit extends RabbitNode {
  /**
   * Stops the node and boots it again on the same ports with its data (durable queues and persistent
   * messages stay): for "the broker goes away" tests. Resolves once it has booted.
   */
  restart(): Promise<void>;
  /** Stops the node (SIGTERM, RabbitMQ's clean stop) and its epmd; idempotent, and run by teardown. */
  stop(): Promise<void>;
}

/** A RabbitMQ cluster on this machine started by `startRabbitCluster`. */
export interface RabbitCluster {
  readonly nodes: readonly RabbitNode[];
  /** Stops node `i` cleanly (SIGTERM, as `halt` in this file); the others keep running. */
  stopNode(i: number): Promise<void>;
  /** Boots node `i` again with its data: it rejoins the cluster. Resolves when it has booted. */
  startNode(i: number): Promise<void>;
  /** Stops every node and the epmd; idempotent, and run by teardown. */
  stop(): Promise<void>;
}

/**
 * What nodes started together share: a temp dir, a HOME holding the Erlang cookie (the server and
 * rabbitmqctl read `$HOME/.erlang.cookie`, and cluster members must hold the same one), and an epmd
 * on its own port. The epmd is started here, as our child, rather than left to the first `erl` (which
 * would start a daemon outside our process tree that nothing stops).
 */
interface Site {
  dir: string;
  home: string;
  epmdPort: number;
  epmd: Service;
}

/** Erlang's cookie, the same for every node of a site and for rabbitmqctl: letters only, as `erl` makes them. */
function newCookie(): string {
  return Array.from(randomBytes(20), (b) => String.fromCharCode(65 + (b % 26))).join('');
}

/**
 * RabbitMQ's stored form of a password (`rabbit_password_hashing_sha256`): base64 of a 4-byte salt
 * followed by SHA-256(salt ++ password).
 */
function passwordHash(password: string): string {
  const salt = randomBytes(4);
  const digest = createHash('sha256').update(salt).update(password, 'utf8').digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

/**
 * Definitions imported at boot (`load_definitions`): vhost `/`, `guest`, and the extra user if asked,
 * each with every permission on `/`. Importing costs nothing at boot, where `rabbitmqctl add_user` and
 * `set_permissions` would each start an Erlang VM (seconds on a busy machine). With definitions to
 * load, RabbitMQ does not seed its default user itself, so guest is listed here too.
 */
function definitions(options: RabbitOptions): string {
  const users = [{ name: 'guest', password: 'guest', tags: ['administrator'] }];
  if (options.user) users.push({ ...options.user, tags: [] });
  return JSON.stringify({
    vhosts: [{ name: '/' }],
    users: users.map((u) => ({ name: u.name, password_hash: passwordHash(u.password), hashing_algorithm: 'rabbit_password_hashing_sha256', tags: u.tags, limits: {} })),
    permissions: users.map((u) => ({ user: u.name, vhost: '/', configure: '.*', write: '.*', read: '.*' })),
  });
}

async function openSite(options: RabbitOptions): Promise<Site> {
  const dir = await mkdtemp(join(tmpdir(), 'celeriac-rabbit-'));
  const home = join(dir, 'home');
  await mkdir(home);
  // Erlang refuses a cookie file others can read.
  await writeFile(join(home, '.erlang.cookie'), newCookie(), { mode: 0o400 });
  // Files of our own in place of /etc/rabbitmq's, so a machine's settings do not leak into tests.
  await writeFile(join(dir, 'rabbitmq-env.conf'), '');
  await writeFile(join(dir, 'definitions.json'), definitions(options));
  await writeFile(join(dir, 'rabbitmq.conf'), `load_definitions = ${join(dir, 'definitions.json')}\n`);
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  const epmdPort = await freePort();
  const epmd = startService(EPMD, ['-port', String(epmdPort), '-address', '127.0.0.1'], { env: baseEnv() });
  const site = { dir, home, epmdPort, epmd };
  try {
    await untilListening(epmdPort, 10_000, 'epmd', epmd.running);
  } catch (err) {
    await closeSite(site);
    throw new Error(`${(err as Error).message}\n${epmd.output()}`);
  }
  return site;
}

async function closeSite(site: Site): Promise<void> {
  await site.epmd.stop(5_000);
  await rm(site.dir, { recursive: true, force: true });
}

/** This process's environment without RabbitMQ's and Erlang's own variables (a developer's settings). */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('RABBITMQ_') && !k.startsWith('ERL_')) env[k] = v;
  }
  return env;
}

/** A node of a site: its ports, its data, its running process (if any). */
class NodeProcess implements RabbitNode {
  readonly url: string;
  readonly nodeName: string;
  readonly env: Record<string, string>;
  private service: Service | undefined;
  private lastBootMs = 0;

  constructor(site: Site, readonly port: number, distPort: number, label: string) {
    const short = `celeriac-${label}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.nodeName = `${short}@localhost`;
    this.url = `amqp://guest:guest@127.0.0.1:${port}`;
    const base = join(site.dir, short);
    this.env = {
      ...baseEnv(),
      HOME: site.home,
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      ERL_EPMD_PORT: String(site.epmdPort),
      RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
      RABBITMQ_LOG_BASE: join(base, 'log'),
      RABBITMQ_CONF_ENV_FILE: join(site.dir, 'rabbitmq-env.conf'),
      RABBITMQ_CONFIG_FILE: join(site.dir, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(site.dir, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(site.dir, 'enabled_plugins'),
      // Erlang distribution (clustering, rabbitmqctl) on loopback only, like AMQP.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
  }

  bootMs(): number {
    return this.lastBootMs;
  }

  /**
   * Spawns the server and waits until it has booted: it prints "Starting broker... completed" after
   * its last boot step (the AMQP listener is one of the last), and its AMQP port accepts.
   * `rabbitmqctl await_startup` would answer the same, but each rabbitmqctl run boots an Erlang VM
   * and Elixir first: 2-4 s of CPU per call on a busy 2-core machine, on top of a 10-25 s boot.
   */
  async boot(): Promise<void> {
    if (this.service?.running()) throw new Error(`${this.nodeName} is already running`);
    const started = Date.now();
    const service = startService(`${RABBIT_BIN}/rabbitmq-server`, [], { env: this.env });
    this.service = service;
    try {
      await service.waitForOutput(/Starting broker\.\.\. completed/, BOOT_TIMEOUT_MS, `rabbitmq-server ${this.nodeName} to boot`);
      await untilListening(this.port, 10_000, `rabbitmq-server ${this.nodeName}`, service.running);
    } catch (err) {
      await this.halt();
      throw err;
    }
    this.lastBootMs = Date.now() - started;
  }

  /**
   * Stops the node cleanly: SIGTERM to rabbitmq-server, which RabbitMQ handles as `rabbitmqctl stop`
   * does (closes connections, stops its apps, halts the VM) without a CLI VM's seconds of start-up;
   * SIGKILL to the node's process group if it is not gone within 20 s.
   */
  async halt(): Promise<void> {
    const service = this.service;
    if (service === undefined) return;
    this.service = undefined;
    await service.stop(20_000);
  }

  async ctl(args: readonly string[], timeoutMs = CTL_TIMEOUT_MS): Promise<string> {
    const r = await runCommand(`${RABBIT_BIN}/rabbitmqctl`, ['-n', this.nodeName, ...args], { env: this.env, timeoutMs });
    if (r.code !== 0) throw new Error(`rabbitmqctl ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }
}

/** Runs `body` once however often it is called (stop from a test and again from teardown). */
function once(body: () => Promise<void>): () => Promise<void> {
  let run: Promise<void> | undefined;
  return () => (run ??= body());
}

/**
 * Starts one RabbitMQ broker on 127.0.0.1 (fresh data, free ports, its own epmd) and stops it when `t`
 * ends. A boot takes seconds: start one per test file, in the file's top-level test, and give each
 * test its own queue names.
 */
export async function startRabbit(t: Test, options: RabbitOptions = {}): Promise<Rabbit> {
  const site = await openSite(options);
  const [port, distPort] = await freePorts(2);
  const node = new NodeProcess(site, port!, distPort!, 'rabbit');
  const stop = once(async () => {
    await node.halt();
    await closeSite(site);
  });
  t.teardown(stop);
  await node.boot();
  return {
    url: node.url,
    port: node.port,
    nodeName: node.nodeName,
    bootMs: () => node.bootMs(),
    ctl: (args, timeoutMs) => node.ctl(args, timeoutMs),
    restart: async () => {
      await node.halt();
      await node.boot();
    },
    stop,
  };
}

/**
 * Starts `size` RabbitMQ nodes on this machine (separate names, ports and data; one cookie, one
 * epmd), boots them side by side, then joins every node after the first to the first
 * (`stop_app`, `join_cluster`, `start_app`). Stopped when `t` ends.
 */
export async function startRabbitCluster(t: Test, size: number, options: RabbitOptions = {}): Promise<RabbitCluster> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`a cluster needs at least one node, not ${size}`);
  const site = await openSite(options);
  const ports = await freePorts(2 * size);
  const nodes = Array.from({ length: size }, (_, i) => new NodeProcess(site, ports[2 * i]!, ports[2 * i + 1]!, `n${i + 1}`));
  const stop = once(async () => {
    await Promise.all(nodes.map((n) => n.halt()));
    await closeSite(site);
  });
  t.teardown(stop);
  await Promise.all(nodes.map((n) => n.boot()));
  const seed = nodes[0]!;
  await Promise.all(nodes.slice(1).map(async (n) => {
    await n.ctl(['stop_app']);
    await n.ctl(['join_cluster', seed.nodeName]);
    await n.ctl(['start_app']);
  }));
  const at = (i: number): NodeProcess => {
    const n = nodes[i];
    if (n === undefined) throw new Error(`no node ${i} in a cluster of ${size}`);
    return n;
  };
  return {
    nodes,
    stopNode: (i) => at(i).halt(),
    startNode: (i) => at(i).boot(),
    stop,
  };
}
