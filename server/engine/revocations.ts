// Revoked task ids: remembered per vhost (on disk until they expire, and never before a message of
// the task held for later is due), REVOKED stored for each, and every connection holding one of
// their deliveries told. The hand-out path asks `has` per message.
import { CeleriacError, fail } from '../../shared/errors.js';
import type { RevokeOptions } from '../../shared/frames.js';
import { checkRevokeOptions, MAX_REVOKE_IDS } from '../../shared/revoke-checks.js';
import { READY_STATES, type TaskState } from '../../shared/task-states.js';
import type { Conn } from './connection.js';
import type { Engine } from './engine.js';
import type { RevokedIndex } from './message-flow.js';
import { checkTaskId } from './results.js';

/**
 * A revocation is kept at least this long after a held message of its task becomes due (longer
 * when the revoke asked for longer): time for a connected worker to be offered it, so the
 * broker drops it instead of handing it out.
 */
export const DUE_GRACE = 60_000;

interface Revocation {
  expiresAt: number;
  terminate: boolean;
  /** The `expires` the revoke asked for (0 for one loaded from disk: its stored expiry already covers what was held then). */
  ttl: number;
}

/** Checks a list of 1 to MAX_REVOKE_IDS task ids; returns them without duplicates. */
export function checkTaskIds(taskIds: unknown, what: string): string[] {
  if (!Array.isArray(taskIds) || taskIds.length === 0 || taskIds.length > MAX_REVOKE_IDS) {
    throw fail('ERR_INVALID_ARGUMENT', `${what}: taskIds must list 1 to ${MAX_REVOKE_IDS} task ids`, { count: Array.isArray(taskIds) ? taskIds.length : null });
  }
  for (const id of taskIds) checkTaskId(id);
  return [...new Set(taskIds as string[])];
}

export class Revocations implements RevokedIndex {
  private readonly byVhost = new Map<string, Map<string, Revocation>>();
  /** Revoked ids in memory, all vhosts. */
  size = 0;
  /** Earliest expiry in memory (Infinity when none): the sweep skips its scan before then. */
  private nextExpiry = Infinity;

  constructor(private readonly engine: Engine) {}

  has(vhost: string, taskId: string): boolean {
    const r = this.byVhost.get(vhost)?.get(taskId);
    return r !== undefined && (r.expiresAt === 0 || r.expiresAt > this.engine.now());
  }

  /** Which of `taskIds` are revoked in the connection's vhost. */
  check(conn: Conn, taskIds: unknown): string[] {
    const ids = checkTaskIds(taskIds, 'revokedCheck');
    return ids.filter((id) => this.has(conn.info.vhost, id));
  }

  /**
   * Revokes task ids in one transaction: each remembered, REVOKED stored where the result is not
   * final yet; `done` after the commit with how many distinct ids. Connections holding a delivery
   * of one are pushed `revoked` at once. Everything is checked before anything is written.
   */
  revoke(conn: Conn, taskIds: unknown, options: RevokeOptions, done: (err: CeleriacError | null, revoked: number) => void): void {
    const ids = checkTaskIds(taskIds, 'revoke');
    const { terminate, signal, expires } = checkRevokeOptions(options);
    const e = this.engine;
    const writer = e.options.writer;
    const vhost = conn.info.vhost;
    const now = e.now();
    const expiresAt = expires === 0 ? 0 : now + expires;
    let failure: Error | null = null;
    const part = (err: Error | null): void => {
      if (err !== null && failure === null) failure = err;
    };
    writer.atomically(() => {
      for (const taskId of ids) {
        this.remember(vhost, taskId, { expiresAt, terminate, ttl: expires });
        writer.putRevocation({ vhost, taskId, expiresAt, terminate });
        const current = e.results.get(vhost, taskId);
        if (current !== null && READY_STATES.has(current.state as TaskState)) continue;
        // REVOKED is kept as long as the published task's record would have been, else as long
        // as the revocation.
        const until = current?.expiresAt ?? expiresAt;
        e.results.put(vhost, taskId, 'REVOKED', undefined, until === 0 ? {} : { expires: Math.max(1, until - now) }, part);
      }
      // Messages of these tasks held for later (countdown, eta, retry): kept revoked until they are due.
      if (expiresAt !== 0) {
        const revoked = new Set(ids);
        e.flow.forEachHeld((v, taskId, readyAt) => {
          if (v === vhost && revoked.has(taskId)) this.heldUntil(v, taskId, readyAt);
        });
        // Delayed messages paged out to disk are not in memory to look at: keep these until they are due.
        const onDisk = e.flow.heldOnDiskUntil(vhost);
        if (onDisk > 0) for (const taskId of ids) this.heldUntil(vhost, taskId, onDisk);
      }
    });
    this.push(vhost, new Set(ids), terminate, signal);
    writer.afterCommit((err) => {
      const cause = err ?? failure;
      done(cause === null ? null : new CeleriacError('ERR_STORE_FAILED', `the revocation could not be stored: ${cause.message}`, { cause }), ids.length);
    });
  }

  /**
   * Tells each connection of the vhost holding unacked deliveries of `ids` which ones. A terminate
   * goes to every connection of the vhost with all the ids: a task acked early (before it ran) is
   * no longer a delivery the broker can trace, so only the worker running it can recognise it.
   */
  private push(vhost: string, ids: ReadonlySet<string>, terminate: boolean, signal: string | undefined): void {
    for (const c of this.engine.conns) {
      if (c.info.vhost !== vhost || c.sink.revoked === undefined) continue;
      if (terminate) {
        c.sink.revoked(signal === undefined ? { taskIds: [...ids], terminate } : { taskIds: [...ids], terminate, signal });
        continue;
      }
      if (c.unacked.size === 0) continue;
      let held: Set<string> | undefined;
      // Bounded by the connection's prefetch: only outstanding deliveries are in the map.
      for (const u of c.unacked.values()) {
        const id = u.msg.props?.correlationId;
        if (id !== undefined && ids.has(id)) (held ??= new Set()).add(id);
      }
      if (held !== undefined) c.sink.revoked(signal === undefined ? { taskIds: [...held], terminate } : { taskIds: [...held], terminate, signal });
    }
  }

  private remember(vhost: string, taskId: string, r: Revocation): void {
    let map = this.byVhost.get(vhost);
    if (map === undefined) this.byVhost.set(vhost, (map = new Map()));
    if (!map.has(taskId)) this.size++;
    map.set(taskId, r);
    if (r.expiresAt !== 0 && r.expiresAt < this.nextExpiry) this.nextExpiry = r.expiresAt;
  }

  /**
   * A message of `taskId` is held until `readyAt` (a countdown, an eta, a retry): if the task is
   * revoked, its revocation is kept its own length (at least DUE_GRACE) past that time, else the
   * task would run once the revocation expired. The longer expiry is stored too.
   */
  heldUntil(vhost: string, taskId: string, readyAt: number): void {
    const r = this.byVhost.get(vhost)?.get(taskId);
    if (r === undefined || r.expiresAt === 0 || r.expiresAt <= this.engine.now()) return;
    const until = readyAt + Math.max(r.ttl, DUE_GRACE);
    if (r.expiresAt >= until) return;
    r.expiresAt = until;
    this.engine.options.writer.putRevocation({ vhost, taskId, expiresAt: until, terminate: r.terminate });
  }

  /** Loads the revocations on disk (start-up), kept until the messages of their tasks recovered as held are due. */
  recover(): void {
    for (const r of this.engine.options.store.loadRevocations(this.engine.now())) this.remember(r.vhost, r.taskId, { expiresAt: r.expiresAt, terminate: r.terminate, ttl: 0 });
    if (this.size === 0) return;
    this.engine.flow.forEachHeld((vhost, taskId, readyAt) => this.heldUntil(vhost, taskId, readyAt));
    for (const [vhost, map] of this.byVhost) {
      const onDisk = this.engine.flow.heldOnDiskUntil(vhost);
      if (onDisk > 0) for (const taskId of map.keys()) this.heldUntil(vhost, taskId, onDisk);
    }
  }

  /** Forgets expired revocations, in memory and on disk (the sweeper's chore). */
  sweep(now: number): void {
    if (now < this.nextExpiry) return;
    this.engine.options.store.deleteExpiredRevocations(now);
    this.nextExpiry = Infinity;
    for (const [vhost, map] of this.byVhost) {
      for (const [id, r] of map) {
        if (r.expiresAt === 0) continue;
        if (r.expiresAt <= now) {
          map.delete(id);
          this.size--;
        } else if (r.expiresAt < this.nextExpiry) {
          this.nextExpiry = r.expiresAt;
        }
      }
      if (map.size === 0) this.byVhost.delete(vhost);
    }
  }
}
