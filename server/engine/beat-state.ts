// Beat's broker side: schedule entries, leader leases and the fire log of each vhost, in memory
// (read from the store at start-up) and written through the group commit. The broker never reads a
// schedule; it keeps the state, elects one leader per lease name and refuses stale or repeated fires.
import { CeleriacError, fail } from '../../shared/errors.js';
import type { FinishPublish, LeaseRecord, ScheduleRecord } from '../../shared/frames.js';
import {
  FIRE_LOG_KEEP, FIRE_LOG_MAX_AGE_MS, type ScheduleKey, type StoredBeat, type StoredFire, type StoredLease, type StoredScheduleEntry,
} from '../store/store.js';
import { checkCount, checkName, checkOptionalTime, checkSpec, checkTime, checkTtl } from '../../shared/beat-checks.js';
import type {
  BeatAdvanceRequest, BeatApi, BeatDone, BeatFireAnswer, BeatFireRequest, EngineConnection, ScheduleUpsertOptions,
} from './types.js';

type Done = (err: CeleriacError | null) => void;

/** The writes beat makes, through the group commit (server/store/group-commit.ts). */
export interface BeatWriter {
  putScheduleEntry(rec: StoredScheduleEntry): void;
  deleteScheduleEntry(k: ScheduleKey): void;
  putLease(rec: StoredLease): void;
  putFire(rec: StoredFire): void;
  /** `done` runs once everything written so far is committed (or with the commit's error). */
  afterCommit(done: (err: Error | null) => void): void;
  /** Every write `fn` makes lands in one transaction. */
  atomically(fn: () => void): void;
}

/** What the beat state needs of the engine: its writer and clock, and the publish path. */
export interface BeatDeps {
  writer: BeatWriter;
  now: () => number;
  /**
   * Checks a fire's publishes as a finish's are checked (route, properties, full queues), throwing
   * before anything changes, and returns one function per publish that enqueues it.
   */
  preparePublishes(vhost: string, publishes: FinishPublish[]): ((done: Done) => void)[];
  /** Pushes scheduleChanged to one watching connection. */
  notify(conn: EngineConnection, names: string[]): void;
  log(level: 'info' | 'warn' | 'error', msg: string): void;
}

/** An entry in memory: its stored row and the scheduled times of its kept fires (oldest first). */
interface LiveEntry {
  row: StoredScheduleEntry;
  fired: Set<number>;
}

/** One vhost's beat state. */
interface VhostBeat {
  entries: Map<string, LiveEntry>;
  leases: Map<string, StoredLease>;
  watchers: Set<EngineConnection>;
  /** The highest revision handed out in this vhost since start (removed entries included). */
  topRevision: number;
}

/**
 * The revision of a new entry: never one an earlier entry of the same name had, so a fire planned
 * from a removed entry cannot pass for one of its re-creation. Within a run the vhost's counter
 * guarantees it; across a restart the broker's clock (ms) starts above any revision of a removed
 * entry unless it was changed more than once per ms of its life.
 */
function freshRevision(v: VhostBeat, now: number): number {
  v.topRevision = Math.max(now, v.topRevision + 1);
  return v.topRevision;
}

/** The revision after `current`: one more, and noted as handed out. */
function nextRevision(v: VhostBeat, current: number): number {
  v.topRevision = Math.max(v.topRevision, current + 1);
  return current + 1;
}

function toRecord(r: StoredScheduleEntry): ScheduleRecord {
  return {
    name: r.name, spec: r.spec, paused: r.paused, source: r.source, lastRunAt: r.lastRunAt, nextRunAt: r.nextRunAt, runCount: r.runCount,
    createdAt: r.createdAt, updatedAt: r.updatedAt, revision: r.revision,
  };
}

function toLease(l: StoredLease): LeaseRecord {
  return { name: l.name, holder: l.holder, epoch: l.epoch, expiresAt: l.expiresAt };
}

function storeFailed(what: string, err: Error): CeleriacError {
  return new CeleriacError('ERR_STORE_FAILED', `${what} could not be stored: ${err.message}`, { cause: err });
}

/** A callback for `n` parts: calls `done` once all reported, with the first error any had. */
function joinParts(n: number, done: Done): Done {
  let remaining = n;
  let failure: CeleriacError | null = null;
  return (err) => {
    if (err !== null && failure === null) failure = err;
    if (--remaining === 0) done(failure);
  };
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export class BeatState implements BeatApi {
  private readonly vhosts = new Map<string, VhostBeat>();

  constructor(private readonly deps: BeatDeps) {}

  /** Start-up: entries, leases and the kept fire log back in memory. */
  recover(stored: StoredBeat): void {
    for (const row of stored.entries) this.of(row.vhost).entries.set(row.name, { row, fired: new Set() });
    for (const l of stored.leases) this.of(l.vhost).leases.set(l.name, l);
    // Fires come in scheduled order, so each set is oldest first; a fire of no entry is ignored.
    for (const f of stored.fires) this.vhosts.get(f.vhost)?.entries.get(f.entry)?.fired.add(f.scheduledAt);
  }

  /** A closed connection watches nothing. */
  forget(conn: EngineConnection): void {
    this.vhosts.get(conn.info.vhost)?.watchers.delete(conn);
  }

  upsert(conn: EngineConnection, name: string, spec: string, options: ScheduleUpsertOptions, done: BeatDone<{ created: boolean; revision: number }>): void {
    checkName('a schedule name', name);
    checkSpec(spec);
    const source = options.source ?? 'api';
    checkName('a schedule source', source);
    if (options.nextRunAt !== undefined) checkOptionalTime('nextRunAt', options.nextRunAt);
    const vhost = conn.info.vhost;
    const v = this.of(vhost);
    const now = this.deps.now();
    let entry = v.entries.get(name);
    const created = entry === undefined;
    if (entry === undefined) {
      entry = {
        row: {
          vhost, name, spec, paused: false, source, lastRunAt: null, nextRunAt: options.nextRunAt ?? null, runCount: 0,
          createdAt: now, updatedAt: now, revision: freshRevision(v, now),
        },
        fired: new Set(),
      };
      v.entries.set(name, entry);
    } else {
      const r = entry.row;
      // Paused and the run state stay: an upsert changes what runs, not whether it ran. The fire
      // log stays too, even on a reset: a scheduled time fired once is never fired again.
      entry.row = {
        ...r, spec, source, updatedAt: now, revision: nextRevision(v, r.revision),
        ...(options.resetState === true ? { lastRunAt: null, runCount: 0 } : {}),
        ...(options.nextRunAt === undefined ? {} : { nextRunAt: options.nextRunAt }),
      };
    }
    const revision = entry.row.revision;
    this.deps.writer.putScheduleEntry(entry.row);
    this.changed(v, [name], 'the schedule entry', done, () => ({ created, revision }));
  }

  remove(conn: EngineConnection, name: string, done: BeatDone<{ removed: boolean }>): void {
    checkName('a schedule name', name);
    const vhost = conn.info.vhost;
    const v = this.of(vhost);
    if (!v.entries.delete(name)) {
      done(null, { removed: false });
      return;
    }
    this.deps.writer.deleteScheduleEntry({ vhost, name });
    this.changed(v, [name], 'the removal', done, () => ({ removed: true }));
  }

  pause(conn: EngineConnection, name: string, paused: boolean, done: BeatDone<ScheduleRecord>): void {
    checkName('a schedule name', name);
    if (typeof paused !== 'boolean') throw fail('ERR_INVALID_ARGUMENT', "schedulePause: 'paused' must be a boolean");
    const v = this.of(conn.info.vhost);
    const entry = v.entries.get(name);
    if (entry === undefined) throw fail('ERR_NOT_FOUND', `no schedule entry '${name}' in vhost '${conn.info.vhost}'`, { schedule: name });
    entry.row = { ...entry.row, paused, updatedAt: this.deps.now(), revision: nextRevision(v, entry.row.revision) };
    const record = toRecord(entry.row);
    this.deps.writer.putScheduleEntry(entry.row);
    this.changed(v, [name], 'the schedule entry', done, () => record);
  }

  list(conn: EngineConnection, names: string[] | undefined): { entries: ScheduleRecord[]; leases: LeaseRecord[] } {
    const v = this.vhosts.get(conn.info.vhost);
    if (v === undefined) return { entries: [], leases: [] };
    let rows: StoredScheduleEntry[];
    if (names === undefined) rows = [...v.entries.values()].map((e) => e.row);
    else {
      if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw fail('ERR_INVALID_ARGUMENT', 'scheduleList: names must be strings');
      rows = [...new Set(names)].flatMap((n) => v.entries.get(n)?.row ?? []);
    }
    return { entries: rows.map(toRecord).sort(byName), leases: [...v.leases.values()].map(toLease).sort(byName) };
  }

  watch(conn: EngineConnection, watch: boolean): void {
    const v = this.of(conn.info.vhost);
    if (watch) v.watchers.add(conn);
    else v.watchers.delete(conn);
  }

  /**
   * Takes or renews a lease. Free (never taken, released), expired or already the holder's: taken,
   * for `ttl` ms of the broker's clock. The epoch grows by one whenever the holder changes and
   * stays when the holder renews (even a lapsed lease nobody took meanwhile: nobody else fired).
   */
  acquireLease(conn: EngineConnection, name: string, holder: string, ttl: number, done: BeatDone<{ acquired: boolean; lease: LeaseRecord }>): void {
    checkName('a lease name', name);
    checkName('a lease holder', holder);
    checkTtl(ttl);
    const vhost = conn.info.vhost;
    const v = this.of(vhost);
    const now = this.deps.now();
    const current = v.leases.get(name);
    if (current !== undefined && current.holder !== null && current.holder !== holder && current.expiresAt > now) {
      done(null, { acquired: false, lease: toLease(current) });
      return;
    }
    const renewed = current !== undefined && current.holder === holder;
    const lease: StoredLease = { vhost, name, holder, epoch: renewed ? current.epoch : (current?.epoch ?? 0) + 1, expiresAt: now + ttl };
    v.leases.set(name, lease);
    if (!renewed) {
      const was = current === undefined || current.holder === null ? '' : ` from '${current.holder}' (epoch ${current.epoch}, expired)`;
      this.deps.log('info', `beat lease '${name}' (vhost '${vhost}') taken by '${holder}', epoch ${lease.epoch}${was}`);
    }
    this.deps.writer.putLease(lease);
    this.afterCommit('the lease', done, () => ({ acquired: true, lease: toLease(lease) }));
  }

  /** Frees the lease if `holder` holds it at `epoch` (lapsed or not: nobody took it); else `released` false. */
  releaseLease(conn: EngineConnection, name: string, holder: string, epoch: number, done: BeatDone<{ released: boolean }>): void {
    checkName('a lease name', name);
    checkName('a lease holder', holder);
    checkCount('epoch', epoch);
    const vhost = conn.info.vhost;
    const v = this.of(vhost);
    const current = v.leases.get(name);
    if (current === undefined || current.holder !== holder || current.epoch !== epoch) {
      done(null, { released: false });
      return;
    }
    const lease: StoredLease = { ...current, holder: null, expiresAt: this.deps.now() };
    v.leases.set(name, lease);
    this.deps.log('info', `beat lease '${name}' (vhost '${vhost}') released by '${holder}', epoch ${epoch}`);
    this.deps.writer.putLease(lease);
    this.afterCommit('the lease', done, () => ({ released: true }));
  }

  /**
   * Fires an entry for one scheduled time, all in one transaction: the fire log row, the entry's
   * new state and the task message(s). Refused as stale (lease), changed (revision, paused, gone)
   * or duplicate (that time fired already, or not after the last run) before anything changes.
   */
  fire(conn: EngineConnection, req: BeatFireRequest, done: BeatDone<BeatFireAnswer>): void {
    checkTime('scheduledAt', req.scheduledAt);
    checkOptionalTime('nextRunAt', req.nextRunAt);
    if (!Array.isArray(req.publishes)) throw fail('ERR_INVALID_ARGUMENT', 'beatFire: publishes must be a list');
    const vhost = conn.info.vhost;
    const v = this.of(vhost);
    const entry = this.underLease(v, vhost, req);
    if (entry === null) {
      done(null, { fired: false, reason: 'changed' });
      return;
    }
    const r = entry.row;
    if ((r.lastRunAt !== null && req.scheduledAt <= r.lastRunAt) || entry.fired.has(req.scheduledAt)) {
      done(null, { fired: false, reason: 'duplicate' });
      return;
    }
    const sends = this.deps.preparePublishes(vhost, req.publishes);
    const writer = this.deps.writer;
    const now = this.deps.now();
    entry.row = { ...r, lastRunAt: req.scheduledAt, nextRunAt: req.nextRunAt, runCount: r.runCount + 1 };
    const record = toRecord(entry.row);
    this.remember(entry, req.scheduledAt, now);
    // The memory keeps the fire even if the commit fails: its message may be out already (a message
    // is deliverable before its commit), and the group commit writes the rows again (see keepBeatForRetry).
    const part = joinParts(sends.length + 1, (err) => done(err, err === null ? { fired: true, record } : undefined));
    writer.atomically(() => {
      // The log and the state before the messages: should a page-in commit what is pending midway,
      // the fire is on disk before its message, and a crash in that gap loses one run, never repeats one.
      writer.putFire({ vhost, entry: r.name, scheduledAt: req.scheduledAt, firedAt: now });
      writer.putScheduleEntry(entry.row);
      for (const send of sends) send(part);
    });
    writer.afterCommit((err) => part(err === null ? null : storeFailed('the fire', err)));
  }

  /** Moves an entry's nextRunAt without a fire, under the same lease and revision checks. */
  advance(conn: EngineConnection, req: BeatAdvanceRequest, done: BeatDone<{ advanced: boolean; record: ScheduleRecord | null }>): void {
    checkOptionalTime('nextRunAt', req.nextRunAt);
    const vhost = conn.info.vhost;
    const v = this.of(vhost);
    const entry = this.underLease(v, vhost, req);
    if (entry === null) {
      const current = v.entries.get(req.entry)?.row;
      done(null, { advanced: false, record: current === undefined ? null : toRecord(current) });
      return;
    }
    entry.row = { ...entry.row, nextRunAt: req.nextRunAt };
    const record = toRecord(entry.row);
    this.deps.writer.putScheduleEntry(entry.row);
    this.afterCommit('the schedule entry', done, () => ({ advanced: true, record }));
  }

  /**
   * The lease check of a fire or advance (ERR_STALE_LEASE unless `holder` holds `lease` at `epoch`,
   * unexpired), then the entry it was planned from: null when gone, paused or at another revision.
   */
  private underLease(v: VhostBeat, vhost: string, req: BeatAdvanceRequest): LiveEntry | null {
    checkName('a lease name', req.lease);
    checkName('a lease holder', req.holder);
    checkCount('epoch', req.epoch);
    checkName('a schedule name', req.entry);
    checkCount('revision', req.revision);
    const lease = v.leases.get(req.lease);
    if (lease === undefined || lease.holder !== req.holder || lease.epoch !== req.epoch || lease.expiresAt <= this.deps.now()) {
      const now = lease === undefined ? 'was never taken' : lease.holder === null ? `is free (epoch ${lease.epoch})`
        : `is held by '${lease.holder}' at epoch ${lease.epoch}${lease.expiresAt <= this.deps.now() ? ', expired' : ''}`;
      throw fail('ERR_STALE_LEASE', `lease '${req.lease}' (vhost '${vhost}') is not held by '${req.holder}' at epoch ${req.epoch}: it ${now}`, {
        lease: req.lease, holder: req.holder, epoch: req.epoch,
        currentHolder: lease?.holder ?? null, currentEpoch: lease?.epoch ?? 0, expiresAt: lease?.expiresAt ?? 0,
      });
    }
    const entry = v.entries.get(req.entry);
    if (entry === undefined || entry.row.revision !== req.revision || entry.row.paused) return null;
    return entry;
  }

  /** Adds a fired time to the entry's log, trimmed as the store trims it (FIRE_LOG_KEEP, FIRE_LOG_MAX_AGE_MS). */
  private remember(entry: LiveEntry, scheduledAt: number, now: number): void {
    entry.fired.add(scheduledAt);
    const oldest = now - FIRE_LOG_MAX_AGE_MS;
    for (const at of entry.fired) {
      if (entry.fired.size <= FIRE_LOG_KEEP && at >= oldest) break;
      entry.fired.delete(at);
    }
  }

  /** Answers once committed, then tells the vhost's watchers which entries changed. */
  private changed<T>(v: VhostBeat, names: string[], what: string, done: BeatDone<T>, result: () => T): void {
    this.deps.writer.afterCommit((err) => {
      if (err !== null) {
        done(storeFailed(what, err));
        return;
      }
      for (const conn of v.watchers) this.deps.notify(conn, names);
      done(null, result());
    });
  }

  private afterCommit<T>(what: string, done: BeatDone<T>, result: () => T): void {
    this.deps.writer.afterCommit((err) => done(err === null ? null : storeFailed(what, err), err === null ? result() : undefined));
  }

  private of(vhost: string): VhostBeat {
    let v = this.vhosts.get(vhost);
    if (v === undefined) {
      v = { entries: new Map(), leases: new Map(), watchers: new Set(), topRevision: 0 };
      this.vhosts.set(vhost, v);
    }
    return v;
  }
}
