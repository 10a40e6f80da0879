// A beat: `app.beat()`. Writes the settings' entries into the broker, watches for changes, takes
// the leader lease and, only while it leads, fires what is due. It sleeps on timers until the
// earliest next run, a lease renewal, a change push or maxInterval; it never polls busily.
import { EventEmitter } from 'node:events';
import { CeleriacError, fail } from '../../shared/errors.js';
import type { StartupWait } from '../app/celeriac.js';
import type { Settings } from '../app/settings.js';
import type { PreparedTask } from '../tasks/producer.js';
import type { TaskOptions } from '../tasks/types.js';
import type { WorkerLog } from '../worker/worker.js';
import { fireMessage } from './fire-message.js';
import { fireDue, type BeatFired, type FireContext } from './fire-due.js';
import { Leadership, newHolderName } from './leadership.js';
import { RecordReader } from './read-record.js';
import { syncSettingsEntries } from './settings-sync.js';
import type { BeatBackend, BeatEntry } from './types.js';

/** Options of `app.beat(...)`. Durations in ms. */
export interface BeatRunOptions {
  /** Longest sleep between two looks at the entries (default 5000, Celery's beat_max_loop_interval is 300 s). */
  maxInterval?: number;
  /** Name of the leader lease (default 'beat'): of the beats sharing it, one fires. */
  lease?: string;
  /** How long the lease lasts unrenewed (default 10000; 1000 to 3600000): a dead leader is replaced within it. */
  leaseTtl?: number;
  /** This beat's name in the lease (default `host:pid:random`). */
  holder?: string;
  /** Where log lines go (default: warnings and errors to stderr). */
  log?: WorkerLog;
  /** The clock schedules are computed with (tests); timers and the lease always use real time. */
  now?: () => number;
  /** Wait for a broker that is not up yet, as a worker starting does (the CLI passes it). */
  startup?: StartupWait;
}

/** A beat's events. */
export interface BeatEvents {
  /** A task message was published for a scheduled time of an entry. */
  fired: [BeatFired];
  /** The beat stopped: `close()` (undefined), or its connection closed for good (the error). */
  close: [Error | undefined];
}

/** The broker as a beat uses it: the store, a queue declarer for the messages it fires, the socket's end. */
export interface BeatLink {
  readonly backend: BeatBackend;
  declare(queue: string): Promise<void>;
  close(): Promise<void>;
  /** Calls `fn` when the connection closes for good (an error) or by close() (undefined). */
  onClose(fn: (err: Error | undefined) => void): void;
}

/** What a beat needs of its app (app.beat() builds it; narrow on purpose). */
export interface BeatDeps {
  readonly settings: Readonly<Settings>;
  open(startup: StartupWait | undefined): Promise<BeatLink>;
  /** The options of task `name` when this app registers it (they apply as for a call). */
  taskOptions(name: string): Readonly<TaskOptions> | undefined;
}

const defaultLog: WorkerLog = (level, message) => {
  if (level === 'warn' || level === 'error') process.stderr.write(`[celeriac beat] ${level.toUpperCase()}: ${message}\n`);
};

function duration(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw fail('ERR_INVALID_ARGUMENT', `beat ${name} must be an integer from ${min} to ${max} ms, got ${String(value)}`);
  return value;
}

/** Waits for `p` (errors ignored) at most `ms`. */
async function bounded(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (p === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => {}), new Promise<void>((res) => { timer = setTimeout(res, ms); })]);
  clearTimeout(timer);
}

/** Runs periodic tasks from the broker's schedule: `start()`, then `close()`. */
export class Beat extends EventEmitter<BeatEvents> {
  readonly holder: string;
  readonly leaseName: string;
  readonly leaseTtl: number;
  readonly maxInterval: number;
  private readonly log: WorkerLog;
  private readonly now: () => number;
  private readonly reader: RecordReader;
  private state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private link: BeatLink | undefined;
  private leadership: Leadership | undefined;
  private unwatch: (() => Promise<void>) | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private passTimer: NodeJS.Timeout | undefined;
  private passing: Promise<void> | undefined;
  /** A change or a new leadership arrived during a pass: pass again right after it. */
  private again = false;

  /** @internal Use app.beat(). Checks the options now. */
  constructor(private readonly deps: BeatDeps, private readonly options: BeatRunOptions = {}) {
    super();
    this.maxInterval = duration('maxInterval', options.maxInterval, 5_000, 1, 3_600_000);
    this.leaseTtl = duration('leaseTtl', options.leaseTtl, 10_000, 1_000, 3_600_000);
    this.leaseName = options.lease ?? 'beat';
    if (typeof this.leaseName !== 'string' || this.leaseName === '' || Buffer.byteLength(this.leaseName) > 255) {
      throw fail('ERR_INVALID_ARGUMENT', 'beat lease must be a name of 1 to 255 bytes');
    }
    this.holder = options.holder ?? newHolderName();
    this.log = options.log ?? defaultLog;
    this.now = options.now ?? Date.now;
    this.reader = new RecordReader(deps.settings.timezone);
  }

  /** True while this beat holds the lease (and may fire). */
  get leading(): boolean {
    return this.state === 'running' && this.leadership?.current() !== undefined;
  }

  /**
   * Connects, writes the settings' entries into the store, starts watching for changes and
   * makes its first lease attempt. Resolves then (leading or standing by); rejects when the
   * broker cannot be reached or refuses an entry.
   */
  start(): Promise<void> {
    if (this.state !== 'new') return Promise.reject(fail('ERR_INVALID_ARGUMENT', 'a beat starts once'));
    this.state = 'starting';
    this.starting = this.startUp();
    return this.starting;
  }

  private async startUp(): Promise<void> {
    const link = await this.deps.open(this.options.startup);
    this.link = link;
    link.onClose((err) => { if (err !== undefined) this.lostConnection(err); });
    try {
      const s = this.deps.settings;
      await syncSettingsEntries(link.backend, s.beatSchedule, { timezone: s.timezone, now: this.now(), log: this.log });
      this.unwatch = await link.backend.watchSchedules(() => this.poke());
      if (this.state !== 'starting') throw fail('ERR_CONNECTION_CLOSED', 'the beat was closed while starting');
      this.leadership = new Leadership(link.backend, this.leaseName, this.holder, this.leaseTtl, this.log);
      this.state = 'running';
      this.log('info', `beat: ${this.holder} started: lease '${this.leaseName}' (ttl ${this.leaseTtl} ms), max interval ${this.maxInterval} ms`);
      await this.leaseRound();
    } catch (err) {
      if (this.state === 'starting') this.state = 'closed';
      await this.unwatch?.().catch(() => {});
      await link.close().catch(() => {});
      throw err;
    }
  }

  /** One take-or-renew of the lease, then the timer for the next; a new leadership starts a pass. */
  private async leaseRound(): Promise<void> {
    this.leaseTimer = undefined;
    const leadership = this.leadership;
    if (this.state !== 'running' || leadership === undefined) return;
    const term = leadership.term;
    const leading = await leadership.attempt();
    if (this.state !== 'running') return;
    // Ref'd on purpose: a started beat is a service that keeps its process alive, as a server does.
    this.leaseTimer = setTimeout(() => void this.leaseRound(), leadership.nextAttemptIn());
    // A new term starts a pass: a pass that found no lease stopped without a timer and only this
    // wakes it. Judged by the term, not by whether it led before the request: the lease may have
    // been dropped (ran out while the broker restarted, a fire refused) and granted again while
    // this round's request was on its way.
    if (leading && leadership.term !== term) this.poke();
    if (!leading && this.passTimer !== undefined) {
      clearTimeout(this.passTimer);
      this.passTimer = undefined;
    }
  }

  /** Looks at the entries now (a change push, a new leadership, a timer): one pass at a time. */
  private poke(): void {
    if (this.state !== 'running') return;
    if (this.passing !== undefined) {
      this.again = true;
      return;
    }
    if (this.passTimer !== undefined) clearTimeout(this.passTimer);
    this.passTimer = undefined;
    this.passing = this.pass().finally(() => {
      this.passing = undefined;
      // A poke that came as the pass was giving up for want of a lease (a new term granted in the
      // same turn) found it still running: it is not lost.
      if (this.again) this.poke();
    });
  }

  private async pass(): Promise<void> {
    const link = this.link!;
    const leadership = this.leadership!;
    let wake: number | null = null;
    try {
      do {
        this.again = false;
        // Not leading: nothing to do until the lease loop grants the lease (it pokes then).
        if (leadership.current() === undefined) return;
        const { entries } = await link.backend.listSchedules();
        const outcome = await fireDue(this.fireContext(link, leadership), entries, this.reader);
        wake = outcome.earliest;
        if (outcome.again) this.again = true;
      } while (this.again && this.state === 'running');
    } catch (err) {
      if (err instanceof CeleriacError && err.code === 'ERR_STALE_LEASE') {
        leadership.drop('the broker refused a fire from a lease another beat has taken');
        return;
      }
      if (this.state !== 'running') return;
      this.log('warn', `beat: could not fire the due entries (${String(err)}); trying again in ${this.maxInterval} ms`);
      wake = null;
    }
    this.arm(wake);
  }

  /** Sleeps until `wake` (this beat's clock) or maxInterval, whichever comes first. */
  private arm(wake: number | null): void {
    if (this.state !== 'running') return;
    const delay = wake === null ? this.maxInterval : Math.min(this.maxInterval, Math.max(0, wake - this.now()));
    // Unref'd: the lease timer and the socket are what keep a beat's process alive.
    this.passTimer = setTimeout(() => {
      this.passTimer = undefined;
      this.poke();
    }, delay);
    this.passTimer.unref();
  }

  private fireContext(link: BeatLink, leadership: Leadership): FireContext {
    const settings = this.deps.settings;
    return {
      backend: link.backend,
      lease: () => (this.state === 'running' ? leadership.current() : undefined),
      now: this.now,
      // A takeover starts up to a lease ttl late and looks again up to maxInterval later: runs
      // that fell due in that gap are late, not missed, so the new leader fires them.
      graceMs: this.leaseTtl + this.maxInterval,
      message: (name: string, entry: BeatEntry, scheduledAt: number): PreparedTask =>
        fireMessage(settings, name, entry, scheduledAt, this.deps.taskOptions(entry.task)),
      declare: (queue) => link.declare(queue),
      log: this.log,
      fired: (info) => { this.emit('fired', info); },
    };
  }

  /** The connection closed for good under a running beat: it stops (the CLI exits 1). */
  private lostConnection(err: Error): void {
    if (this.state !== 'running' && this.state !== 'starting') return;
    this.state = 'closed';
    this.clearTimers();
    this.log('error', `beat: the connection to the broker closed (${err.message}); beat ${this.holder} stopped`);
    this.emit('close', err);
  }

  private clearTimers(): void {
    if (this.leaseTimer !== undefined) clearTimeout(this.leaseTimer);
    if (this.passTimer !== undefined) clearTimeout(this.passTimer);
    this.leaseTimer = this.passTimer = undefined;
  }

  /** Stops: the pass under way ends, the lease is released (another beat takes over at once), the connection closes. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const was = this.state;
    if (was === 'closed') return;
    this.state = 'closing';
    this.clearTimers();
    if (was === 'starting') await this.starting?.catch(() => {});
    if (this.link !== undefined && was !== 'new') {
      // Bounded: with the broker unreachable these requests wait for a reconnect; closing the
      // connection then fails them, and the lease expires by itself.
      const grace = Math.min(this.leaseTtl, 5_000);
      await bounded(this.passing, grace);
      await bounded(this.unwatch?.(), grace);
      await bounded(this.leadership?.release(), grace);
      await this.link.close().catch(() => {});
      this.log('info', `beat: ${this.holder} stopped`);
    }
    this.state = 'closed';
    this.emit('close', undefined);
  }
}
