// Beat's store on Redis, for a pair whose broker keeps no beat state (RabbitMQ + Redis): entries,
// the leader lease and the fire log in celeriac-beat-* keys (keys.ts), each change one Lua script
// (lua-beat.ts), changes pushed on a channel. A fire is recorded in Redis FIRST, then its message
// is published through the paired transport: a beat dying between the two loses that one run, it
// never sends it twice (broker-server does both in one transaction; two services cannot).
import { checkCount, checkName, checkOptionalTime, checkSpec, checkTime, checkTtl, FIRE_LOG_KEEP, FIRE_LOG_MAX_AGE_MS } from '../../../shared/beat-checks.js';
import { fail } from '../../../shared/errors.js';
import type { FinishPublish, LeaseRecord, ScheduleRecord } from '../../../shared/frames.js';
import type { BeatAdvanceRequest, BeatBackend, BeatFireRequest, BeatFireResult } from '../../beat/types.js';
import { isRecord } from '../../replies.js';
import type { Calls } from './calls.js';
import {
  BEAT_CHANGED_CHANNEL, BEAT_ENTRIES_KEY, BEAT_LEASES_KEY, BEAT_REVISION_KEY, beatEntryKey, beatFiredKey, beatLeaseKey,
} from './keys.js';
import { BEAT_ACQUIRE, BEAT_ADVANCE, BEAT_FIRE, BEAT_LIST, BEAT_PAUSE, BEAT_RELEASE, BEAT_REMOVE, BEAT_UNFIRE, BEAT_UPSERT } from './lua-beat.js';
import type { Subscriber } from './subscriber.js';

/** How a fire's messages go out: the task link's tracked publish (PENDING in Redis, then the message, confirmed). */
export type BeatPublish = (message: FinishPublish) => Promise<void>;

const text = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString() : typeof b === 'number' ? String(b) : '');
const timeOrNull = (b: unknown): number | null => (text(b) === '' ? null : Number(text(b)));

/** An entry row of a script ({name, spec, paused, source, lastRunAt, nextRunAt, runCount, createdAt, updatedAt, revision}). */
function recordOf(row: unknown): ScheduleRecord {
  const v = row as unknown[];
  return {
    name: text(v[0]), spec: text(v[1]), paused: text(v[2]) === '1', source: text(v[3]), lastRunAt: timeOrNull(v[4]),
    nextRunAt: timeOrNull(v[5]), runCount: Number(text(v[6])), createdAt: Number(text(v[7])), updatedAt: Number(text(v[8])),
    revision: Number(text(v[9])),
  };
}

/** A lease row of a script ({holder ('' = none), epoch, expiresAt}, after its name). */
function leaseOf(name: string, holder: unknown, epoch: unknown, expiresAt: unknown): LeaseRecord {
  const h = text(holder);
  return { name, holder: h === '' ? null : h, epoch: Number(text(epoch)), expiresAt: Number(text(expiresAt)) };
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

const timeArg = (t: number | null): string => (t === null ? '' : String(t));

/** ERR_STALE_LEASE for a fire or advance, from a script's stale reply, worded as broker-server words it. */
function staleLease(req: BeatAdvanceRequest, reply: unknown[]): Error {
  const holder = text(reply[1]);
  const epoch = Number(text(reply[2]));
  const expiresAt = Number(text(reply[3]));
  const expired = expiresAt <= Date.now() ? ', expired' : '';
  const now = text(reply[4]) !== '1' ? 'was never taken' : holder === '' ? `is free (epoch ${epoch})` : `is held by '${holder}' at epoch ${epoch}${expired}`;
  return fail('ERR_STALE_LEASE', `lease '${req.lease}' (Redis) is not held by '${req.holder}' at epoch ${req.epoch}: it ${now}`, {
    lease: req.lease, holder: req.holder, epoch: req.epoch, currentHolder: holder === '' ? null : holder, currentEpoch: epoch, expiresAt,
  });
}

/** The lease and entry fields of a fire or advance, checked as broker-server checks them. */
function checkUnderLease(r: BeatAdvanceRequest, what: string): void {
  if (!isRecord(r)) throw fail('ERR_INVALID_ARGUMENT', `${what}(request): request must be an object`);
  checkName('a lease name', r.lease);
  checkName('a lease holder', r.holder);
  checkCount('epoch', r.epoch);
  checkName('a schedule name', r.entry);
  checkCount('revision', r.revision);
  checkOptionalTime('nextRunAt', r.nextRunAt);
}

/**
 * The BeatBackend contract on Redis (see docs/result-backends.md, "Beat on Redis"). Shares the
 * result backend's two connections; closed with it.
 */
export class RedisBeatStore implements BeatBackend {
  constructor(
    private readonly calls: Calls,
    private readonly subscriber: Subscriber,
    /** Sends a fire's messages; a failure gives the fire back (see fireSchedule). */
    private readonly publish: BeatPublish,
  ) {}

  async upsertSchedule(name: string, spec: string, options: { source?: string; nextRunAt?: number | null; resetState?: boolean } = {}): Promise<{ created: boolean; revision: number }> {
    checkName('a schedule name', name);
    checkSpec(spec);
    if (!isRecord(options)) throw fail('ERR_INVALID_ARGUMENT', 'upsertSchedule: options must be an object');
    const source = options.source ?? 'api';
    checkName('a schedule source', source);
    if (options.nextRunAt !== undefined) checkOptionalTime('nextRunAt', options.nextRunAt);
    const next = options.nextRunAt === undefined ? 'keep' : options.nextRunAt === null ? 'none' : String(options.nextRunAt);
    const args = [name, spec, source, next, options.resetState === true ? '1' : '0', BEAT_CHANGED_CHANNEL];
    const reply = await this.calls.run(`store schedule entry '${name}'`, (c) => BEAT_UPSERT.run(c, [beatEntryKey(name), BEAT_ENTRIES_KEY, BEAT_REVISION_KEY], args)) as unknown[];
    return { created: Number(reply[0]) === 1, revision: Number(text(reply[1])) };
  }

  async removeSchedule(name: string): Promise<boolean> {
    checkName('a schedule name', name);
    const reply = await this.calls.run(`remove schedule entry '${name}'`, (c) => BEAT_REMOVE.run(c, [beatEntryKey(name), beatFiredKey(name), BEAT_ENTRIES_KEY], [name, BEAT_CHANGED_CHANNEL]));
    return Number(reply) === 1;
  }

  async pauseSchedule(name: string, paused: boolean): Promise<ScheduleRecord> {
    checkName('a schedule name', name);
    if (typeof paused !== 'boolean') throw fail('ERR_INVALID_ARGUMENT', "schedulePause: 'paused' must be a boolean");
    const what = `${paused ? 'pause' : 'resume'} schedule entry '${name}'`;
    const reply = await this.calls.run(what, (c) => BEAT_PAUSE.run(c, [beatEntryKey(name), BEAT_REVISION_KEY], [name, paused ? '1' : '0', BEAT_CHANGED_CHANNEL]));
    if (reply === null) throw fail('ERR_NOT_FOUND', `no schedule entry '${name}' in Redis`, { schedule: name });
    return recordOf(reply);
  }

  async listSchedules(names?: readonly string[]): Promise<{ entries: ScheduleRecord[]; leases: LeaseRecord[] }> {
    let args = ['0'];
    if (names !== undefined) {
      if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw fail('ERR_INVALID_ARGUMENT', 'listSchedules(names): names must be an array of strings');
      args = ['1', ...new Set(names)];
    }
    const reply = await this.calls.run('list the schedule entries', (c) => BEAT_LIST.run(c, [BEAT_ENTRIES_KEY, BEAT_LEASES_KEY], args)) as [unknown[][], unknown[][]];
    return {
      entries: reply[0].map(recordOf).sort(byName),
      leases: reply[1].map((l) => leaseOf(text(l[0]), l[1], l[2], l[3])).sort(byName),
    };
  }

  /**
   * Subscribes to the change channel (each message is one entry's name); after the pub/sub
   * connection comes back, `onChange([])`: changes published meanwhile reached nobody.
   */
  async watchSchedules(onChange: (names: string[]) => void): Promise<() => Promise<void>> {
    if (typeof onChange !== 'function') throw fail('ERR_INVALID_ARGUMENT', 'watchSchedules(onChange): onChange must be a function');
    const stop = await this.subscriber.subscribe(BEAT_CHANGED_CHANNEL, (message) => tell(onChange, [message.toString()]));
    const unhook = this.subscriber.onResubscribed(() => tell(onChange, []));
    return async () => {
      unhook();
      stop();
    };
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<{ acquired: boolean; lease: LeaseRecord }> {
    checkName('a lease name', name);
    checkName('a lease holder', holder);
    checkTtl(ttlMs);
    const reply = await this.calls.run(`take lease '${name}'`, (c) => BEAT_ACQUIRE.run(c, [beatLeaseKey(name), BEAT_LEASES_KEY], [name, holder, String(ttlMs)])) as unknown[];
    return { acquired: Number(reply[0]) === 1, lease: leaseOf(name, reply[1], reply[2], reply[3]) };
  }

  async releaseLease(name: string, holder: string, epoch: number): Promise<boolean> {
    checkName('a lease name', name);
    checkName('a lease holder', holder);
    checkCount('epoch', epoch);
    const reply = await this.calls.run(`release lease '${name}'`, (c) => BEAT_RELEASE.run(c, [beatLeaseKey(name)], [holder, String(epoch)]));
    return Number(reply) === 1;
  }

  /**
   * Records the fire in Redis (lease, revision and duplicate checks, run state, fire log: one
   * script), THEN publishes its messages in order. A publish that fails before any message went
   * out gives the fire back (the next pass fires that time again) and rejects; once one went out
   * the fire stays. Crash between record and publish: that run is lost, never sent twice.
   */
  async fireSchedule(request: BeatFireRequest): Promise<BeatFireResult> {
    checkUnderLease(request, 'fireSchedule');
    checkTime('scheduledAt', request.scheduledAt);
    if (!Array.isArray(request.publishes)) throw fail('ERR_INVALID_ARGUMENT', 'fireSchedule: publishes must be an array');
    const { entry, scheduledAt } = request;
    const keys = [beatLeaseKey(request.lease), beatEntryKey(entry), beatFiredKey(entry)];
    const at = String(scheduledAt);
    const next = timeArg(request.nextRunAt);
    const args = [request.holder, String(request.epoch), String(request.revision), at, next, String(FIRE_LOG_KEEP), String(FIRE_LOG_MAX_AGE_MS), entry];
    const reply = await this.calls.run(`fire schedule entry '${entry}'`, (c) => BEAT_FIRE.run(c, keys, args)) as unknown[];
    const status = text(reply[0]);
    if (status === 'stale') throw staleLease(request, reply);
    if (status === 'changed' || status === 'duplicate') return { fired: false, reason: status };
    const record = recordOf(reply[1]);
    let sent = 0;
    try {
      for (const p of request.publishes) {
        await this.publish(p);
        sent++;
      }
    } catch (err) {
      if (sent === 0) {
        const undo = [at, next, String(record.runCount), text(reply[2]), text(reply[3]), text(reply[4])];
        // Best effort: with Redis away too the fire stays recorded, and that run is lost.
        await this.calls.run(`give back the fire of '${entry}'`, (c) => BEAT_UNFIRE.run(c, [beatEntryKey(entry), beatFiredKey(entry)], undo)).catch(() => undefined);
      }
      throw err;
    }
    return { fired: true, record };
  }

  async advanceSchedule(request: BeatAdvanceRequest): Promise<{ advanced: boolean; record: ScheduleRecord | null }> {
    checkUnderLease(request, 'advanceSchedule');
    const { entry } = request;
    const args = [request.holder, String(request.epoch), String(request.revision), timeArg(request.nextRunAt), entry];
    const reply = await this.calls.run(`advance schedule entry '${entry}'`, (c) => BEAT_ADVANCE.run(c, [beatLeaseKey(request.lease), beatEntryKey(entry)], args)) as unknown[];
    const status = text(reply[0]);
    if (status === 'stale') throw staleLease(request, reply);
    return { advanced: status === 'advanced', record: reply[1] === undefined ? null : recordOf(reply[1]) };
  }
}

/** Calls a watcher; its failure is a warning, never the store's (as broker-server's watch). */
function tell(onChange: (names: string[]) => void, names: string[]): void {
  const warn = (err: unknown): void => process.emitWarning(`a watchSchedules callback failed: ${String(err)}`, { code: 'CELERIAC_WATCH_ERROR' });
  try {
    const out = onChange(names) as unknown;
    if (out instanceof Promise) out.catch(warn);
  } catch (err) {
    warn(err);
  }
}
