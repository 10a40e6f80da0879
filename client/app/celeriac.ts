// Celeriac: the app. Holds the settings and the task registry, owns the producer's link (a
// transport and a result backend, opened on first use through backends.ts), sends tasks and makes
// workers. Everything else hangs off it.
import { fail } from '../../shared/errors.js';
import { registerBuiltins } from '../canvas/builtins.js';
import { Signature } from '../canvas/signature.js';
import type { BeatBackend } from '../beat/types.js';
import type { Connection } from '../connection.js';
import type { ConnectOptions } from '../options.js';
import type { ResultBackend, TaskLink } from '../result-backend/result-backend.js';
import { parseBrokerUrl } from '../url.js';
import { openBackends, type OpenedBackends } from './backends.js';
import { masked, resultBackendOf, transportOf } from './backend-schemes.js';
import { compileAccept, type CompiledAccept } from '../../shared/messages/content-guard.js';
import { AsyncResult, type ResultSource } from '../results/async-result.js';
import type { TaskDefinition, TaskRegistry } from '../tasks/definition.js';
import { prepareTask } from '../tasks/producer.js';
import { resolveTaskOptions } from '../tasks/resolve-options.js';
import { Task, type ApplyOptions, type TaskSender } from '../tasks/task.js';
import type { BoundTaskFunction, TaskFunction, TaskOptions } from '../tasks/types.js';
import { Worker, type WorkerOptions } from '../worker/worker.js';
import { Control } from '../control/control.js';
import { Events } from '../events/events.js';
import { Beat, type BeatRunOptions } from '../beat/beat.js';
import { beatDepsOf } from '../beat/app-link.js';
import { Schedules } from '../beat/schedules-api.js';
import { sentEventHook } from '../events/sent-events.js';
import { retryUnreachable, startupPlan, type RetryLog } from './broker-retry.js';
import { QueueDeclarer } from './declare-queues.js';
import { boundWhileDown, firstConnectPlan, inTaskTerms, offlineLimit, type Sending } from './publish-retry.js';
import { resolveSettings, type Settings, type SettingsInput } from './settings.js';

/** Hooks other parts of the SDK attach to an app (events publish task-sent through one). */
export interface AppHooks {
  /** Called after a task message was confirmed by the broker. */
  taskSent?(info: { id: string; name: string; args: readonly unknown[]; kwargs: Readonly<Record<string, unknown>>; queue: string; exchange: string; routingKey: string; eta: string | null; expires: string | null; retries: number; rootId: string; parentId: string | null }): void;
}

/** A worker's way of opening a connection: it waits for a broker that is not up yet. */
export interface StartupWait {
  /** Where each failed try is logged (Celery's "Cannot connect to ...: Trying again in ..." line). */
  log: RetryLog;
  /** Stops waiting (a shutdown signal): the open rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of `app.open()`. */
export interface OpenOptions {
  /**
   * Open as a worker starting does: while the broker refuses or cannot be reached, try again with
   * backoff (brokerConnectionRetryOnStartup, up to brokerConnectionMaxRetries), then reject with
   * the last error. Bad credentials or a bad URL reject at once. Without it, one try.
   */
  startup?: StartupWait;
  /** The connection's offlinePublishTimeout, ms (null or absent: held publishes wait for ever). */
  offlinePublishTimeout?: number | null;
}

/** A Celeriac application: `new Celeriac(settings)`. */
export class Celeriac implements TaskRegistry, ResultSource, TaskSender {
  #settings: Readonly<Settings>;
  /** The result whitelist, compiled once. */
  readonly resultAccept: CompiledAccept;
  /** Declares queues before first use, once per connection. */
  readonly declarer: QueueDeclarer;
  readonly hooks: AppHooks = {};
  private readonly registry = new Map<string, TaskDefinition>();
  private producer: Promise<OpenedBackends> | undefined;
  /** The producer link once open, until its transport closed for good: sendTask's fast path. */
  private current: TaskLink | undefined;
  private closed = false;
  private controlImpl: Control | undefined;
  private eventsImpl: Events | undefined;
  private schedulesImpl: Schedules | undefined;

  /**
   * Validates the settings: an unknown key, a bad value or a resultBackend other than the broker
   * throws ERR_INVALID_ARGUMENT naming it.
   */
  constructor(settings: SettingsInput = {}) {
    this.#settings = resolveSettings(settings);
    this.resultAccept = compileAccept(this.settings.resultAcceptContent ?? this.settings.acceptContent);
    this.declarer = new QueueDeclarer(this.settings);
    registerBuiltins(this);
    if (this.settings.taskSendSentEvent) this.hooks.taskSent = sentEventHook(async () => (await this.link()).transport);
  }

  /** Remote control of the running workers: ping, inspect, rateLimit, revoke, shutdown. */
  get control(): Control {
    this.controlImpl ??= new Control(this);
    return this.controlImpl;
  }

  /** Events of the broker's workers and producers: `app.events.subscribe({ 'task-succeeded': (e) => ... })`. */
  get events(): Events {
    this.eventsImpl ??= new Events(this);
    return this.eventsImpl;
  }

  /**
   * Periodic-task entries (add, change, pause, resume, remove, list) in beat's store, through the
   * app's link: broker-server's, or Redis' when the broker is RabbitMQ.
   */
  get schedules(): Schedules {
    this.schedulesImpl ??= new Schedules({ backend: () => this.beatStore(), timezone: this.settings.timezone });
    return this.schedulesImpl;
  }

  /** A beat sending this app's periodic tasks (`beat.start()` connects; of all beats on a broker, one fires). */
  beat(options: BeatRunOptions = {}): Beat {
    return new Beat(beatDepsOf(this), options);
  }

  /** The resolved, frozen settings. */
  get settings(): Readonly<Settings> {
    return this.#settings;
  }

  /**
   * Points the app at another broker before it has connected (Celery's `-b`, the CLI's
   * `--broker`); results follow when the broker keeps them, and stay in Redis when a Redis result
   * backend is set. Throws once a connection was opened: connections are not moved.
   */
  useBroker(url: string): void {
    if (this.producer !== undefined) throw fail('ERR_INVALID_ARGUMENT', 'useBroker() must come before the app connects');
    const kept = this.#settings.resultBackend;
    const resultBackend = resultBackendOf(kept) === 'redis' ? kept : null;
    this.#settings = resolveSettings({ ...this.#settings, broker: url, resultBackend } as SettingsInput);
  }

  /**
   * Registers a task. `fn` gets the TaskContext as `this` (write it as a `function` to use it), or
   * as its first argument with `{ bind: true }`. Options are checked now; a name registered twice
   * is an error.
   */
  task<A extends unknown[], R>(name: string, fn: BoundTaskFunction<A, R>, options: TaskOptions & { bind: true }): Task<A, Awaited<R>>;
  task<A extends unknown[], R>(name: string, fn: TaskFunction<A, R>, options?: TaskOptions & { bind?: false }): Task<A, Awaited<R>>;
  task(name: string, fn: (...args: never[]) => unknown, options: TaskOptions = {}): Task {
    if (typeof name !== 'string' || name === '' || Buffer.byteLength(name) > 255) throw fail('ERR_INVALID_ARGUMENT', 'a task name must be a string of 1 to 255 bytes');
    if (typeof fn !== 'function') throw fail('ERR_INVALID_ARGUMENT', `task '${name}' needs a function`);
    if (this.registry.has(name)) throw fail('ERR_INVALID_ARGUMENT', `task '${name}' is already registered`);
    const def: TaskDefinition = Object.freeze({ name, fn, options: resolveTaskOptions(name, options, this.settings) });
    this.registry.set(name, def);
    return new Task(this, def);
  }

  /** The registered task called `name`. */
  getTask(name: string): TaskDefinition | undefined {
    return this.registry.get(name);
  }

  /** Names of the registered tasks, sorted. */
  taskNames(): string[] {
    return [...this.registry.keys()].sort();
  }

  /**
   * Sends a task by name (a producer need not have its code). Resolves with its AsyncResult once
   * the broker confirmed the message (and registered the id as PENDING).
   */
  async sendTask<R = unknown>(name: string, args: readonly unknown[] = [], options: ApplyOptions = {}, taskOptions?: Readonly<TaskOptions>): Promise<AsyncResult<R>> {
    const { kwargs = {}, ...call } = options;
    const prepared = prepareTask(this.settings, name, args, kwargs, call, taskOptions ?? this.registry.get(name)?.options ?? {});
    // Bounded by taskPublishRetryPolicy while the broker cannot be reached: the first connection
    // is retried here; a connection that dropped holds the publish for the policy's waits.
    const sending = (): Sending => ({ what: `task '${name}' [${prepared.id}]`, url: brokerDisplayUrl(this.settings.broker) });
    const link = this.current ?? await retryUnreachable(() => this.link(), firstConnectPlan(this.settings, sending));
    const { exchange, routingKey, props } = prepared.publish;
    try {
      await boundWhileDown(link.transport, this.declarer.ensure(link.transport, prepared.queue), this.settings, sending);
      // With its PENDING record: in the publish's own commit on broker-server, just before it elsewhere.
      await link.publishTracked(prepared.publish);
    } catch (err) {
      throw inTaskTerms(err, sending);
    }
    const sent = this.hooks.taskSent;
    if (sent !== undefined) {
      const h = props?.headers ?? {};
      sent({
        id: prepared.id, name, args, kwargs, queue: prepared.queue, exchange, routingKey, eta: (h['eta'] as string | null) ?? null,
        expires: (h['expires'] as string | null) ?? null, retries: (h['retries'] as number) ?? 0, rootId: (h['root_id'] as string) ?? prepared.id,
        parentId: (h['parent_id'] as string | null) ?? null,
      });
    }
    return new AsyncResult<R>(prepared.id, this);
  }

  /** A handle on the result of task `id` (sent by anyone). */
  asyncResult<R = unknown>(id: string): AsyncResult<R> {
    return new AsyncResult<R>(id, this);
  }

  /**
   * A signature of the task called `name` (Celery's `app.signature`), for a task this app does
   * not register: another app's, or a Python Celery worker's. It goes in chains, groups, chords and
   * callbacks like `task.s()`; `options` are its call options (say, the `queue` its workers
   * consume) and its `kwargs`. Args given when it is called come first, as with `s()`.
   */
  signature<R = unknown>(name: string, args: readonly unknown[] = [], options: ApplyOptions = {}): Signature<R> {
    if (typeof name !== 'string' || name === '') throw fail('ERR_INVALID_ARGUMENT', 'a task name must be a non-empty string');
    if (!Array.isArray(args)) throw fail('ERR_INVALID_ARGUMENT', `args of ${name} must be an array`);
    const { kwargs = {}, ...call } = options;
    const sender = { sendTask: <T>(n: string, a: readonly unknown[], o?: ApplyOptions) => this.sendTask<T>(n, a, o), app: this };
    return new Signature<R>(sender, name, args, call, false, kwargs);
  }

  /**
   * The producer's link (transport + result backend), opened on first use. It holds a publish
   * while it reconnects for the waits taskPublishRetryPolicy allows, no longer. `startup` applies
   * when this call opens it (a worker starting: see OpenOptions).
   */
  link(options: { startup?: StartupWait } = {}): Promise<TaskLink> {
    return this.openProducer(options).then((o) => o.link);
  }

  /**
   * The producer's broker-server Connection (the broker-level API: declare, publish, consume, get),
   * the one its link runs on. Rejects with ERR_TRANSPORT_UNAVAILABLE when the broker is not broker-server.
   */
  connection(options: { startup?: StartupWait } = {}): Promise<Connection> {
    return this.openProducer(options).then((o) => o.connection ?? notBrokerServer(this.settings.broker));
  }

  /** Beat's store on the producer's link (app.schedules). */
  beatStore(): Promise<BeatBackend> {
    return this.openProducer({}).then((o) => o.beatStore);
  }

  /** Where results are read: the producer link's result backend. */
  backend(): Promise<ResultBackend> {
    return this.link().then((l) => l.results);
  }

  private openProducer(options: { startup?: StartupWait }): Promise<OpenedBackends> {
    if (this.closed) return Promise.reject(fail('ERR_CONNECTION_CLOSED', 'this Celeriac app was closed'));
    if (this.producer === undefined) {
      const p = this.openAs('producer', { ...options, offlinePublishTimeout: offlineLimit(this.settings) });
      this.producer = p;
      // A failed first open is not remembered: the next call tries again; nor is a link closed for
      // good (brokerConnectionRetry false and a drop): the next call opens another.
      p.then(({ link }) => {
        if (this.producer === p) this.current = link;
        link.transport.once('close', () => {
          if (this.current === link) this.current = undefined;
          if (this.producer === p) this.producer = undefined;
        });
      }, () => { if (this.producer === p) this.producer = undefined; });
    }
    return this.producer;
  }

  /**
   * Opens a new broker-server Connection with the app's connection settings (broker-level API).
   * Rejects with ERR_TRANSPORT_UNAVAILABLE when the broker is not broker-server.
   */
  async open(role: string, opts: OpenOptions = {}): Promise<Connection> {
    const opened = await this.openAs(role, opts);
    if (opened.connection === undefined) {
      await opened.link.close();
      return notBrokerServer(this.settings.broker);
    }
    return opened.connection;
  }

  /** Opens a new link (transport + result backend) for `role`, as a worker or beat does: each has its own. */
  async openLink(role: string, opts: OpenOptions = {}): Promise<TaskLink> {
    return (await this.openAs(role, opts)).link;
  }

  /**
   * Opens a link for beat with the store its entries, lease and fires live in: broker-server's, or
   * the Redis result backend's when the broker is RabbitMQ.
   */
  async openBeat(opts: OpenOptions = {}): Promise<{ link: TaskLink; store: BeatBackend }> {
    const opened = await this.openAs('beat', opts);
    return { link: opened.link, store: opened.beatStore };
  }

  private openAs(role: string, opts: OpenOptions): Promise<OpenedBackends> {
    const s = this.settings;
    const options: ConnectOptions = { reconnect: s.brokerConnectionRetry, clientName: `celeriac-${role}` };
    if (s.brokerHeartbeat !== null) options.heartbeat = s.brokerHeartbeat;
    if (opts.offlinePublishTimeout !== undefined) options.offlinePublishTimeout = opts.offlinePublishTimeout;
    const dial = (): Promise<OpenedBackends> => openBackends({
      broker: s.broker, resultBackend: s.resultBackend, options, resultSerializer: s.resultSerializer, redisTimeout: s.redisSocketTimeout,
    });
    const startup = opts.startup;
    if (startup === undefined || !s.brokerConnectionRetryOnStartup) return dial();
    return retryUnreachable(dial, startupPlan(s.brokerConnectionMaxRetries, startup.log, startup.signal));
  }

  /** A worker consuming this app's tasks (`worker.start()` connects). */
  worker(options: WorkerOptions = {}): Worker {
    return new Worker(this, options);
  }

  /** Closes the app's link (workers close on their own). */
  async close(): Promise<void> {
    this.closed = true;
    const p = this.producer;
    this.producer = this.current = undefined;
    if (p === undefined) return;
    try {
      await (await p).link.close();
    } catch { /* a link that never opened has nothing to close */ }
  }
}

/** The broker-level Connection exists only on broker-server. */
function notBrokerServer(broker: string): never {
  throw fail('ERR_TRANSPORT_UNAVAILABLE', `the broker-level Connection is broker-server's (ws://, wss://); this app's broker is a ${new URL(broker).protocol}// URL`);
}

/**
 * The broker URL as send errors show it, password masked: broker-server's as its connect errors
 * print it (parseBrokerUrl only reads ws:// and wss://), any other scheme with the password starred.
 */
function brokerDisplayUrl(url: string): string {
  return transportOf(url) === 'broker-server' ? parseBrokerUrl(url).displayUrl : masked(url);
}
