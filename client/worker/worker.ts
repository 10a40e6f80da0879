// The worker: consumes task messages from its queues with prefetch = concurrency × multiplier,
// runs them in its pool at most `concurrency` at once, and ends each with one finish request
// (ack + result + next messages in one broker transaction). Warm and cold shutdown live here.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { fail } from '../../shared/errors.js';
import type { Celeriac } from '../app/celeriac.js';
import type { WorkerPool } from '../app/settings.js';
import type { ResultBackend, TaskLink } from '../result-backend/result-backend.js';
import type { Delivery, Transport } from '../transport/transport.js';
import { compileAccept, type CompiledAccept } from '../../shared/messages/content-guard.js';
import { parseTaskMessage } from '../../shared/messages/task-request.js';
import type { TaskRequest } from '../../shared/messages/types.js';
import { endRevoked, executeJob } from './execute.js';
import { describeJob, settleable, type Job } from './job.js';
import type { Pool, PoolInfo } from './pool-types.js';
import { createPool } from './create-pool.js';
import { formatRateLimit } from '../app/rate-limit.js';
import { deliveryLimitOf } from '../app/declare-queues.js';
import { RateGate, rateHorizonOf, type RatePlan, type RateSlot } from './rate-gate.js';
import { handBack, priorDeliveries } from './hand-back.js';
import { watchEventLoop, type LoopMonitor } from './loop-monitor.js';
import { refuseMessage, refuseOverDeliveryLimit, rejectUnknownTask } from './rejections.js';
import { attachWorkerServices } from './services.js';
import { argumentValues } from './received-args.js';
import { RevokedCheck } from './revoked-check.js';
import { maskUrlPassword } from '../../shared/mask-url.js';

/** Options of `app.worker(...)`; each defaults to the app's setting of the same meaning. */
export interface WorkerOptions {
  /** Queues to consume (default: the default queue). */
  queues?: readonly string[];
  concurrency?: number;
  prefetchMultiplier?: number;
  pool?: WorkerPool;
  /** Isolated pools load this module (its default export or `app`) in each runner. */
  appModule?: string;
  maxTasksPerChild?: number | null;
  maxMemoryPerChild?: number | null;
  /** Node name in events and inspect replies (default `celeriac-<pid>-<n>@<host>`). */
  hostname?: string;
  /** Where log lines go (default: warnings and errors to stderr). */
  log?: WorkerLog;
  /** Publish task events on the events exchange (default: the workerSendTaskEvents setting). */
  sendEvents?: boolean;
  /** worker-heartbeat event interval, ms (default 2000, Celery's; 0 = none). */
  heartbeatInterval?: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type WorkerLog = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** Fields of a worker's local task events (events/ publishes them on the events exchange). */
export interface TaskEventFields {
  uuid: string;
  name?: string;
  [field: string]: unknown;
}

/** The worker's local events, named as Celery's event types. */
export interface WorkerEvents {
  'task-received': [TaskEventFields];
  'task-started': [TaskEventFields];
  'task-succeeded': [TaskEventFields];
  'task-failed': [TaskEventFields];
  'task-retried': [TaskEventFields];
  'task-revoked': [TaskEventFields];
  'task-rejected': [TaskEventFields];
  'worker-online': [];
  'worker-offline': [];
}

const defaultLog: WorkerLog = (level, message) => {
  if (level === 'warn' || level === 'error') process.stderr.write(`[celeriac worker] ${level.toUpperCase()}: ${message}\n`);
};

let workerCount = 0;

/** Waits between tries to consume a queue again after the broker cancelled its consumer: doubling from the first to the last. */
const RECONSUME_FIRST_DELAY_MS = 500;
const RECONSUME_MAX_DELAY_MS = 10_000;

export class Worker extends EventEmitter<WorkerEvents> {
  readonly hostname: string;
  readonly queues: readonly string[];
  readonly concurrency: number;
  readonly prefetch: number;
  readonly poolName: WorkerPool;
  readonly log: WorkerLog;
  /** Tasks run so far, by name (inspect stats' `total`). */
  readonly totals = new Map<string, number>();
  /**
   * Rate limits changed through remote control, by task name (null = cleared). The broker holds
   * the effective rate; this tells the worker to ask it for tasks that have no limit of their own.
   */
  readonly rateLimits = new Map<string, string | null>();
  readonly startedAt = Date.now();
  private readonly accept: CompiledAccept;
  private readonly jobs = new Map<string, Job>();
  private readonly ready: Job[] = [];
  private readonly finishing = new Set<Promise<void>>();
  private active = 0;
  /** Jobs whose run ended and whose finish is on its way to the broker (they hold no slot). */
  private finishingJobs = 0;
  /** Bound on finishes awaiting the broker's commit: past it, no new task starts. */
  private readonly maxFinishing: number;
  private linkImpl: TaskLink | undefined;
  private poolImpl: Pool | undefined;
  /** Consumer tag -> the queue it consumes. */
  private readonly consumerTags = new Map<string, string>();
  private rate: RateGate | undefined;
  /** Set when the transport hands out revoked messages (a pair without the shared store): asked before each start. */
  private revokedCheck: RevokedCheck | undefined;
  /** Delivery limit of each consumed queue (null = none): a delivery past it is refused, not run. */
  private readonly deliveryLimits: ReadonlyMap<string, number | null>;
  private loopMonitor: LoopMonitor | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private idle: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private coldShutdown = false;
  /** Stops the control mailbox and events (services.ts). */
  private detachServices: (() => Promise<void>) | undefined;

  constructor(readonly app: Celeriac, private readonly options: WorkerOptions = {}) {
    super();
    const s = app.settings;
    this.hostname = options.hostname ?? `celeriac-${process.pid}-${++workerCount}@${hostname()}`;
    this.queues = Object.freeze([...(options.queues ?? [s.taskDefaultQueue])]);
    if (this.queues.length === 0) throw fail('ERR_INVALID_ARGUMENT', 'a worker needs at least one queue');
    this.concurrency = options.concurrency ?? s.workerConcurrency;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw fail('ERR_INVALID_ARGUMENT', `worker concurrency must be an integer >= 1, got ${String(this.concurrency)}`);
    const multiplier = options.prefetchMultiplier ?? s.workerPrefetchMultiplier;
    this.prefetch = multiplier === 0 ? 0 : Math.min(65_535, this.concurrency * multiplier);
    this.poolName = options.pool ?? s.workerPool;
    this.maxFinishing = Math.max(256, this.concurrency * 8);
    this.log = options.log ?? defaultLog;
    this.accept = compileAccept(s.acceptContent);
    this.deliveryLimits = new Map(this.queues.map((q) => [q, deliveryLimitOf(s, q)]));
  }

  /** The worker's transport and result backend, paired (after start). */
  get link(): TaskLink {
    if (this.linkImpl === undefined) throw fail('ERR_CONNECTION_CLOSED', 'the worker is not started');
    return this.linkImpl;
  }

  /**
   * Whether task `id` was revoked by the time it is about to start and the transport did not drop
   * it (see revoked-check.ts); undefined (nothing to ask) on broker-server, which never hands a
   * revoked task out.
   */
  revokedBeforeStart(id: string): Promise<boolean> | undefined {
    return this.revokedCheck?.isRevoked(id);
  }

  /** The worker's transport (after start): its consumers, events and publishes. */
  get connection(): Transport {
    return this.link.transport;
  }

  /** The worker's result backend (after start). */
  get results(): ResultBackend {
    return this.link.results;
  }

  get pool(): Pool {
    if (this.poolImpl === undefined) throw fail('ERR_CONNECTION_CLOSED', 'the worker is not started');
    return this.poolImpl;
  }

  /** Connects, starts the pool, declares its queues and starts consuming. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw fail('ERR_INVALID_ARGUMENT', 'a worker starts once');
    this.state = 'starting';
    const s = this.app.settings;
    this.poolImpl = createPool(this.poolName, this.app, {
      concurrency: this.concurrency,
      ...(this.options.appModule === undefined ? {} : { appModule: this.options.appModule }),
      maxTasksPerChild: this.options.maxTasksPerChild !== undefined ? this.options.maxTasksPerChild : s.workerMaxTasksPerChild,
      maxMemoryPerChild: this.options.maxMemoryPerChild !== undefined ? this.options.maxMemoryPerChild : s.workerMaxMemoryPerChild,
    });
    try {
      await this.poolImpl.start();
      // A broker not up yet is waited for (brokerConnectionRetryOnStartup), each try logged.
      const link = await this.app.openLink('worker', { startup: { log: this.log } });
      this.linkImpl = link;
      const transport = link.transport;
      this.rate = new RateGate(link, (q) => rateHorizonOf(s, q));
      if (!link.atomic) this.revokedCheck = new RevokedCheck(link.results, (err) => this.log('warn', `revocations could not be checked (${String(err)}); the tasks about to start run`));
      link.results.onRevoked((info) => this.onRevoked(info.taskIds, info.terminate, info.signal));
      transport.on('handlerError', (err) => this.log('error', `consumer failed: ${String(err)}`));
      transport.on('cancel', (tag, reason) => this.onConsumerCancelled(tag, reason));
      transport.on('reconnecting', (info) => { if (info.attempt === 1) this.onConnectionLost(info.error.message); });
      // Rates set through remote control before this worker started apply to its tasks too.
      for (const o of await link.results.rateOverrides()) this.rateLimits.set(o.key, formatRateLimit({ count: o.count, intervalMs: o.intervalMs }));
      for (const q of this.queues) await this.app.declarer.ensure(transport, q);
      for (const q of this.queues) {
        if (this.app.declarer.deliveryLimitUnsupported.has(q)) this.log('info', `queue '${q}' is of a type that holds no delivery limit (a RabbitMQ classic queue): the broker flags a redelivery but does not count deliveries, so taskQueueDeliveryLimit (${this.deliveryLimits.get(q)}) cannot be enforced there; a quorum queue (x-queue-type: quorum) enforces it.`);
        if (this.app.declarer.withoutDeliveryLimit.has(q)) this.log('warn', `queue '${q}' was declared before it had a delivery limit and the broker keeps it as it is; this worker still refuses a task delivered more than ${this.deliveryLimits.get(q)} times (taskQueueDeliveryLimit). Delete and redeclare the queue to have the broker enforce it too.`);
      }
      for (const q of this.queues) {
        const { consumerTag } = await transport.consume(q, (msg) => this.onMessage(q, msg), { prefetch: this.prefetch });
        this.consumerTags.set(consumerTag, q);
      }
      this.detachServices = await attachWorkerServices(this, this.options);
    } catch (err) {
      this.state = 'stopped';
      await this.poolImpl.close(true).catch(() => undefined);
      await this.linkImpl?.close().catch(() => undefined);
      throw err;
    }
    this.state = 'running';
    this.loopMonitor = watchEventLoop({
      heartbeat: this.connection.heartbeat,
      inLoop: this.poolName === 'async',
      running: () => [...this.jobs.values()].filter((j) => j.state === 'active').map((j) => j.def.name),
      log: this.log,
    });
    // Deliveries that arrived while the other consumers were being set up start now.
    this.pump();
    this.log('info', `worker ${this.hostname} ready: queues [${this.queues.join(', ')}], pool ${this.poolName}, concurrency ${this.concurrency}, prefetch ${this.prefetch}`);
    this.emit('worker-online');
  }

  /**
   * Shuts down. Warm (default): stop consuming, give back prefetched tasks not started, let the
   * running ones finish, then close. `force` (cold), also while a warm close is under way: stop
   * the runners at once; a late-acked task stopped this way is not acked, so the broker gives it
   * to another worker when the connection closes. Every caller gets the same shutdown.
   */
  close(options: { force?: boolean } = {}): Promise<void> {
    if (this.state === 'new' || (this.state === 'stopped' && this.closing === undefined)) {
      this.state = 'stopped';
      return Promise.resolve();
    }
    if (options.force === true && !this.coldShutdown) {
      this.coldShutdown = true;
      this.pool.abortAll('cold shutdown');
      // Runs stopped here end as 'lost'; the shutdown below waits for their (non-)finishes.
      void this.pool.close(true).catch(() => undefined);
    }
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /** True once a cold shutdown began: late-acked tasks cut short are left for redelivery. */
  get cold(): boolean {
    return this.coldShutdown;
  }

  private async shutDown(): Promise<void> {
    this.state = 'stopping';
    this.loopMonitor?.stop();
    const link = this.linkImpl;
    const conn = link?.transport;
    // While the broker is unreachable, its consumers went with the socket and nothing can be told
    // to it: each request would wait out requestTimeout. Closing the connection below ends it all.
    const reachable = conn?.connected === true;
    if (reachable) for (const tag of this.consumerTags.keys()) await conn.cancel(tag).catch(() => undefined);
    // Prefetched but not started: back to the queue for another worker.
    for (const job of [...this.jobs.values()]) if (job.state === 'reserved' || job.state === 'rate-limited') this.giveBack(job);
    this.ready.length = 0;
    await this.whenIdle();
    await this.pool.close(this.coldShutdown);
    await Promise.allSettled([...this.finishing]);
    this.state = 'stopped';
    this.emit('worker-offline');
    const detached = this.detachServices?.().catch(() => undefined);
    if (reachable) await detached;
    await link?.close().catch(() => undefined);
    this.log('info', `worker ${this.hostname} stopped (${this.coldShutdown ? 'cold' : 'warm'})`);
  }

  /** True between start() and close(). */
  get running(): boolean {
    return this.state === 'running';
  }

  /** Tasks running now (inspect active lists them). */
  get activeCount(): number {
    return this.active;
  }

  // ---- inspect

  /** The jobs in one state as inspect lists them. */
  private describeJobs(state: Job['state']): Record<string, unknown>[] {
    return [...this.jobs.values()].filter((j) => j.state === state).map((j) => describeJob(j, this.hostname, process.pid));
  }

  activeJobs(): Record<string, unknown>[] {
    return this.describeJobs('active');
  }

  reservedJobs(): Record<string, unknown>[] {
    return this.describeJobs('reserved');
  }

  /** Tasks held here until a time: those waiting for their rate-limit slot (ETA tasks wait in the broker). */
  scheduledJobs(): Record<string, unknown>[] {
    return this.describeJobs('rate-limited').map((d) => ({ ...d, request: d }));
  }

  stats(): Record<string, unknown> {
    const info: PoolInfo = this.pool.info();
    return {
      hostname: this.hostname, pid: process.pid, clock: Date.now(), uptime: Math.round((Date.now() - this.startedAt) / 1000),
      pool: { implementation: info.pool, 'max-concurrency': info.concurrency, processes: info.runners, replaced: info.replaced },
      prefetch_count: this.prefetch, queues: this.queues, broker: { url: maskUrlPassword(this.app.settings.broker) },
      total: Object.fromEntries(this.totals), rusage: { maxrss: process.memoryUsage().rss },
    };
  }

  // ---- internals used by execute.ts

  /** @internal */
  countRun(name: string): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + 1);
  }

  /**
   * @internal The job's run ended: its slot is free for the next task while its finish travels
   * to the broker and is committed (waiting for the commit would cap the throughput at
   * concurrency / commit latency). Idempotent.
   */
  releaseSlot(job: Job): void {
    if (job.state !== 'active') return;
    job.state = 'finishing';
    this.active--;
    this.finishingJobs++;
    this.pump();
    if (this.active === 0) this.idle?.();
  }

  /** @internal Tracks a finish so close() waits for it. */
  track(p: Promise<void>): void {
    this.finishing.add(p);
    void p.finally(() => this.finishing.delete(p));
  }

  // ---- delivery

  private onMessage(queue: string, msg: Delivery): void {
    if (this.state !== 'running' && this.state !== 'starting') {
      msg.nack({ requeue: true });
      return;
    }
    let req: TaskRequest;
    try {
      req = parseTaskMessage(msg.properties.headers, msg.properties, msg.body, { accept: this.accept });
    } catch (err) {
      refuseMessage(this, msg, err);
      return;
    }
    const def = this.app.getTask(req.task);
    if (def === undefined) {
      rejectUnknownTask(this, msg, req);
      return;
    }
    const limit = this.deliveryLimits.get(queue) ?? null;
    // Earlier copies count too: a task handed back for its rate slot is a new broker message.
    const deliveries = limit === null ? 0 : priorDeliveries(msg) + msg.fields.deliveryCount;
    if (limit !== null && deliveries > limit) {
      refuseOverDeliveryLimit(this, msg, req, deliveries, limit);
      return;
    }
    // A foreign producer's eta (Celery sends it as a header only) is waited for by the broker.
    if (req.eta !== null && req.eta.getTime() > Date.now()) {
      this.untilEta(queue, msg, req);
      return;
    }
    const job: Job = { msg, req, def, queue, state: 'reserved', receivedAt: Date.now(), acked: false };
    this.jobs.set(req.id, job);
    const rate = def.options.rateLimit ?? this.rateLimits.get(def.name) ?? null;
    if (rate !== null && this.rate !== undefined) {
      job.state = 'rate-limited';
      this.rate.plan(def.name, rate, queue, msg).then((plan) => this.onRatePlan(job, plan), (err: unknown) => {
        if (job.state === 'done') return; // given back meanwhile (shutdown, consumer cancelled)
        this.log('warn', `rate limit of ${def.name} could not be checked (${String(err)}); running it now`);
        this.received(job);
        this.enqueue(job);
      });
      return;
    }
    this.received(job);
    this.enqueue(job);
  }

  /** task-received: once per task, by the worker that keeps it (not one handing it back for its rate slot). */
  private received(job: Job): void {
    const { req } = job;
    // Event fields are built only for a listener (events are off by default; this runs per task).
    if (this.listenerCount('task-received') > 0) {
      this.emit('task-received', {
        uuid: req.id, name: req.task, args: req.argsrepr ?? req.args, kwargs: req.kwargsrepr ?? req.kwargs, retries: req.retries,
        eta: req.eta?.toISOString() ?? null, expires: req.expires?.toISOString() ?? null, root_id: req.rootId, parent_id: req.parentId,
        queue: job.queue, exchange: job.msg.fields.exchange, routing_key: job.msg.fields.routingKey,
        ...argumentValues(req.args, req.kwargs),
      });
    }
  }

  /** The broker gave a rate-limited job its slot: wait for it here (near), or hand the message back until then (far). */
  private onRatePlan(job: Job, plan: RatePlan): void {
    if (job.state !== 'rate-limited') {
      this.track(this.rate!.release(plan.slot)); // given back meanwhile: so is its slot
      return;
    }
    if (plan.defer) {
      this.defer(job, plan.slot);
      return;
    }
    job.slot = plan.slot;
    this.received(job);
    const wait = plan.slot.at - Date.now();
    if (wait <= 0) this.enqueue(job);
    else setTimeout(() => this.enqueue(job), wait).unref();
  }

  /**
   * Hands a rate-limited message back to the broker until its slot (a delayed copy carrying the
   * slot, and the ack of this delivery, in one finish) instead of holding the delivery that long.
   */
  private defer(job: Job, slot: RateSlot): void {
    job.state = 'done';
    this.forget(job);
    if (!settleable(job)) {
      this.track(this.rate!.release(slot)); // the broker took the delivery back (consumer cancelled)
      return;
    }
    this.log('debug', `task ${job.req.task}[${job.req.id}]: rate slot in ${slot.at - Date.now()} ms; handed back to the broker until then`);
    this.track(this.rate!.handBack(job.msg, job.queue, slot).catch((err: unknown) => {
      this.log('warn', `task ${job.req.task}[${job.req.id}] could not be handed back until its rate slot (${String(err)}); the broker delivers it again`);
    }));
  }

  /**
   * A task delivered before its eta: handed back to the broker as a copy it holds until then (and
   * the ack of this delivery, in one finish), never kept here. celeriac's own producers have the
   * broker hold a countdown from the start; Celery's producers write only the `eta` header and leave
   * the wait to the worker, which keeps such tasks in memory: here it goes back to the broker's
   * delayed delivery, so it survives this worker and holds no prefetch slot meanwhile.
   */
  private untilEta(queue: string, msg: Delivery, req: TaskRequest): void {
    const eta = req.eta!;
    this.log('info', `task ${req.task}[${req.id}] has eta ${eta.toISOString()}, ${eta.getTime() - Date.now()} ms from now: handed back to the broker until then`);
    this.track(handBack(this.link, msg, queue, eta.getTime()).then(() => undefined, (err: unknown) => {
      this.log('warn', `task ${req.task}[${req.id}] could not be handed back until its eta (${String(err)}); it goes back to its queue`);
      if (msg.deliveryLive) msg.nack({ requeue: true });
    }));
  }

  private enqueue(job: Job): void {
    if (job.state === 'done') return;
    job.state = 'reserved';
    this.ready.push(job);
    this.pump();
  }

  /** Starts ready jobs while slots are free. */
  private pump(): void {
    while (this.active < this.concurrency && this.finishingJobs < this.maxFinishing && this.ready.length > 0 && this.state === 'running') {
      const job = this.ready.shift()!;
      if (job.state !== 'reserved') continue;
      // Its socket may have dropped unnoticed so far (a process resumed after SIGSTOP runs its
      // timers before it reads the close): a delivery the broker took back must not start here.
      if (!settleable(job)) {
        this.drop(job);
        continue;
      }
      job.state = 'active';
      job.startedAt = Date.now();
      this.loopMonitor?.started(job.def.name);
      this.active++;
      const run = this.runJob(job);
      this.finishing.add(run);
      job.run = run;
    }
  }

  /**
   * Runs and finishes one job, then frees what it held. One async function rather than a chain of
   * catch/finally handlers and a tracking finally: this runs once per task. It leaves `finishing`
   * itself; `job.run` is set before its first await returns, so the delete finds it.
   */
  private async runJob(job: Job): Promise<void> {
    try {
      await executeJob(this, job);
    } catch (err) {
      this.log('error', `task ${job.req.task}[${job.req.id}] could not be finished: ${String(err)}`);
    } finally {
      this.releaseSlot(job);
      job.state = 'done';
      this.finishingJobs--;
      this.forget(job);
      if (job.run !== undefined) this.finishing.delete(job.run);
      this.pump();
    }
  }

  private whenIdle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = () => {
        this.idle = undefined;
        resolve();
      };
    });
  }

  /**
   * The connection dropped: the broker requeued every delivery of the old socket. Those not
   * started are dropped here, since another delivery of each follows (to this worker or another);
   * running ones go on, and their finish is not sent (see executeJob).
   */
  private onConnectionLost(why: string): void {
    let dropped = 0;
    for (const job of [...this.jobs.values()]) {
      if ((job.state === 'reserved' || job.state === 'rate-limited') && !settleable(job)) {
        this.drop(job);
        dropped++;
      }
    }
    this.log('warn', `connection to the broker lost (${why}); reconnecting. ${dropped} prefetched task(s) dropped: the broker redelivers them`);
  }

  /**
   * Removes `job` from the jobs by id, unless a newer delivery of the same task took its place:
   * a task whose delivery was lost while it ran may be delivered here again before that run ends.
   */
  private forget(job: Job): void {
    if (this.jobs.get(job.req.id) === job) this.jobs.delete(job.req.id);
  }

  /** Forgets a job that will not start here; a rate slot it booked goes back to its bucket. */
  private drop(job: Job): void {
    job.state = 'done';
    this.forget(job);
    if (job.slot !== undefined && this.rate !== undefined) this.track(this.rate.release(job.slot));
  }

  /** Puts a prefetched job back in its queue (warm shutdown). */
  private giveBack(job: Job): void {
    this.drop(job);
    if (settleable(job)) job.msg.nack({ requeue: true });
  }

  /**
   * The broker cancelled one of our consumers (an ack timeout, its queue deleted) and requeued
   * what it had delivered through it. Jobs not started are dropped (another delivery follows);
   * running ones end without a finish (executeJob: the redelivered copy owns the outcome); the
   * queue is declared again (it may be gone) and consumed again.
   */
  private onConsumerCancelled(tag: string, reason: string): void {
    const queue = this.consumerTags.get(tag);
    if (queue === undefined) return;
    this.consumerTags.delete(tag);
    this.log('error', `the broker cancelled the consumer of queue '${queue}' (${reason}); its unacked tasks went back to the queue`);
    for (const job of [...this.jobs.values()]) {
      if (job.msg.fields.consumerTag !== tag || job.msg.settled) continue;
      job.deliveryLost = true;
      if (job.state === 'reserved' || job.state === 'rate-limited') this.drop(job);
    }
    if (this.state !== 'running') return;
    void this.consumeAgain(queue);
  }

  /**
   * Declares `queue` again and consumes it, trying again with a growing wait (up to
   * RECONSUME_MAX_DELAY_MS) while the worker runs: a worker that stopped consuming would sit idle
   * with its queue filling up. Celery gets the same by restarting its consumer, which declares
   * its queues again.
   */
  private async consumeAgain(queue: string): Promise<void> {
    for (let attempt = 0; this.state === 'running'; attempt++) {
      try {
        await this.app.declarer.redeclare(this.connection, queue);
        const { consumerTag } = await this.connection.consume(queue, (msg) => this.onMessage(queue, msg), { prefetch: this.prefetch });
        this.consumerTags.set(consumerTag, queue);
        // A shutdown that began meanwhile did not see this consumer: it cancels it here.
        if (this.state !== 'running') await this.connection.cancel(consumerTag).catch(() => undefined);
        else this.log('info', `consuming queue '${queue}' again`);
        return;
      } catch (err) {
        const delay = Math.min(RECONSUME_MAX_DELAY_MS, RECONSUME_FIRST_DELAY_MS * 2 ** attempt);
        this.log('error', `could not consume queue '${queue}' again (${String(err)}); trying again in ${delay} ms`);
        await new Promise<void>((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  }

  private onRevoked(taskIds: readonly string[], terminate: boolean, signal: string | undefined): void {
    for (const id of taskIds) {
      const job = this.jobs.get(id);
      if (job === undefined) continue;
      job.revoked = { terminate };
      if (job.state === 'finishing' || job.state === 'done') continue;
      if (job.state === 'active') {
        if (terminate) {
          this.log('info', `terminating task ${job.req.task}[${id}] (revoked${signal === undefined ? '' : `, ${signal}`})`);
          this.pool.terminate(id, signal);
        }
        continue;
      }
      // Not started: ended as REVOKED (stored again under the task's name) and acked.
      this.drop(job);
      this.track(endRevoked(this, job).catch((err: unknown) => {
        this.log('error', `revoked task ${job.req.task}[${id}] could not be finished: ${String(err)}`);
      }));
      this.emit('task-revoked', { uuid: id, name: job.req.task, terminated: false, expired: false });
    }
  }
}

