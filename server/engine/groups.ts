// Groups and chords: the broker counts each group's members reaching a final state in the same
// transaction as the result that makes them final, and publishes the chord body exactly once.
import { decode, encode } from '@msgpack/msgpack';
import { CeleriacError, fail } from '../../shared/errors.js';
import type { FinishPublish, GroupDeclareOptions, GroupRecord } from '../../shared/frames.js';
import type { StoredGroup } from '../store/store.js';
import type { Conn } from './connection.js';
import type { Engine } from './engine.js';
import { checkTaskId, type FinalResultHook } from './results.js';

/** Members one group may have. */
export const MAX_GROUP_MEMBERS = 100_000;

const keyOf = (vhost: string, id: string): string => `${vhost}\u0000${id}`;

/** A group in memory: counting, or complete and waiting for its commit before it is dropped. */
interface LiveGroup {
  vhost: string;
  groupId: string;
  members: string[];
  done: number;
  callback: FinishPublish | null;
  fired: boolean;
  expiresAt: number;
}

function checkGroupId(groupId: unknown): asserts groupId is string {
  if (typeof groupId !== 'string' || groupId === '' || Buffer.byteLength(groupId) > 255) {
    throw fail('ERR_INVALID_ARGUMENT', 'a group id must be a string of 1 to 255 bytes');
  }
}

function checkMembers(members: unknown): asserts members is string[] {
  if (!Array.isArray(members) || members.length === 0 || members.length > MAX_GROUP_MEMBERS) {
    throw fail('ERR_INVALID_ARGUMENT', `groupDeclare: members must list 1 to ${MAX_GROUP_MEMBERS} task ids`);
  }
  for (const id of members) checkTaskId(id);
  if (new Set(members).size !== members.length) throw fail('ERR_INVALID_ARGUMENT', 'groupDeclare: a task id appears twice among the members');
}

/** The callback as stored: msgpack of the FinishPublish (its body is binary). */
function encodeCallback(cb: FinishPublish): Uint8Array {
  return encode(cb, { ignoreUndefined: true });
}

function decodeCallback(blob: Uint8Array): FinishPublish {
  const raw = decode(blob) as Record<string, unknown>;
  const cb: FinishPublish = { exchange: raw.exchange as string, routingKey: raw.routingKey as string, body: raw.body as Uint8Array };
  if (raw.props !== undefined && raw.props !== null) cb.props = raw.props as FinishPublish['props'] & object;
  if (raw.track !== undefined && raw.track !== null) cb.track = raw.track as FinishPublish['track'] & object;
  return cb;
}

export class Groups implements FinalResultHook {
  private readonly live = new Map<string, LiveGroup>();
  /** vhost + member task id -> the counting groups it belongs to (rebuilt at recovery). */
  private readonly byMember = new Map<string, LiveGroup[]>();

  constructor(private readonly engine: Engine) {}

  counts(vhost: string, taskId: string): boolean {
    return this.byMember.size !== 0 && this.byMember.has(keyOf(vhost, taskId));
  }

  becameFinal(vhost: string, taskId: string): void {
    const groups = this.byMember.get(keyOf(vhost, taskId));
    if (groups === undefined) return;
    for (const g of [...groups]) this.advance(g, 1);
  }

  /**
   * Declares a group: checked, stored (with members already final counted at once), the callback's
   * task id registered PENDING; `done` after the commit. A complete group fires in the same batch.
   */
  declare(conn: Conn, groupId: unknown, members: unknown, options: GroupDeclareOptions, done: (err: CeleriacError | null) => void): void {
    checkGroupId(groupId);
    checkMembers(members);
    const e = this.engine;
    const vhost = conn.info.vhost;
    const expires = options.expires;
    if (expires !== undefined && (!Number.isSafeInteger(expires) || expires < 0)) {
      throw fail('ERR_INVALID_ARGUMENT', "groupDeclare: 'expires' must be a non-negative integer (ms)");
    }
    const callback = options.callback ?? null;
    // Routed now only to refuse a callback that could never be published (unknown exchange, bad props).
    if (callback !== null) e.routeIn(e.vhostOf(conn), callback.exchange, callback.routingKey, callback.props, callback.track);
    const key = keyOf(vhost, groupId);
    const now = e.now();
    if (this.live.has(key) || this.stored(vhost, groupId, now) !== null) {
      throw fail('ERR_PRECONDITION_FAILED', `group '${groupId}' is already declared`, { groupId });
    }
    const g: LiveGroup = {
      vhost, groupId, members, done: 0, callback, fired: false,
      expiresAt: expires === undefined || expires === 0 ? 0 : now + expires,
    };
    // Members may finish before their group is declared: those count at once.
    for (const id of members) if (e.results.isFinal(vhost, id)) g.done++;
    const writer = e.options.writer;
    writer.atomically(() => {
      writer.putGroup({
        vhost, groupId, members, done: g.done, callback: callback === null ? null : encodeCallback(callback), fired: false, expiresAt: g.expiresAt,
      });
      if (callback?.track !== undefined) e.results.track(vhost, callback.track);
      this.live.set(key, g);
      if (g.done < members.length) this.index(g);
      else this.advance(g, 0);
    });
    writer.afterCommit((err) => {
      done(err === null ? null : new CeleriacError('ERR_STORE_FAILED', `the group could not be stored: ${err.message}`, { cause: err }));
    });
  }

  /** The group with each member's result, or null when unknown or expired. */
  get(vhost: string, groupId: unknown): GroupRecord | null {
    checkGroupId(groupId);
    const now = this.engine.now();
    const g = this.live.get(keyOf(vhost, groupId)) ?? this.stored(vhost, groupId, now);
    if (g === null || (g.expiresAt !== 0 && g.expiresAt <= now)) return null;
    const results = g.members.map((id) => this.engine.results.get(vhost, id));
    return { groupId: g.groupId, members: g.members, done: g.done, results };
  }

  /** Start-up: groups still counting go back in memory; a complete one whose callback never left fires now. */
  recover(): void {
    const e = this.engine;
    for (const s of e.options.store.loadOpenGroups(e.now())) {
      const g: LiveGroup = { ...s, callback: s.callback === null ? null : decodeCallback(s.callback) };
      this.live.set(keyOf(g.vhost, g.groupId), g);
      if (g.done < g.members.length) this.index(g);
      else e.options.writer.atomically(() => this.advance(g, 0));
    }
  }

  /** Drops expired groups, in memory and on disk (the sweeper's chore). */
  sweep(now: number): void {
    this.engine.options.store.deleteExpiredGroups(now);
    for (const [key, g] of this.live) {
      if (g.expiresAt === 0 || g.expiresAt > now) continue;
      this.live.delete(key);
      this.unindex(g);
    }
  }

  /**
   * Counts `n` more final members. The counter is written before the callback is enqueued and the
   * fired flag after it: one batch normally holds all three with the result; if a page-in forces
   * a commit in between, the disk says "complete, not fired" and recovery fires it — never twice.
   */
  private advance(g: LiveGroup, n: number): void {
    const writer = this.engine.options.writer;
    g.done = Math.min(g.members.length, g.done + n);
    writer.putGroupProgress({ vhost: g.vhost, groupId: g.groupId, done: g.done, fired: g.fired });
    if (g.done < g.members.length) return;
    this.unindex(g);
    if (g.callback !== null && !g.fired) {
      this.fire(g, g.callback);
      g.fired = true;
      writer.putGroupProgress({ vhost: g.vhost, groupId: g.groupId, done: g.done, fired: true });
    }
    // Complete: reads go to the store once this is committed.
    const key = keyOf(g.vhost, g.groupId);
    writer.afterCommit(() => {
      if (this.live.get(key) === g) this.live.delete(key);
    });
  }

  private fire(g: LiveGroup, cb: FinishPublish): void {
    const e = this.engine;
    const what = `group '${g.groupId}' (vhost '${g.vhost}')`;
    try {
      const vhost = e.vhosts.get(g.vhost);
      if (vhost === undefined) throw fail('ERR_NOT_FOUND', `no vhost '${g.vhost}'`);
      const targets = e.routeIn(vhost, cb.exchange, cb.routingKey, cb.props, cb.track);
      if (targets.length === 0) e.log('warn', `${what}: its callback matched no queue (exchange '${cb.exchange}', key '${cb.routingKey}') and was dropped`);
      e.enqueueRouted(g.vhost, targets, cb.exchange, cb.routingKey, cb.body, cb.props, false, (err) => {
        if (err !== null) e.log('error', `${what}: its callback could not be enqueued: ${err.message}`);
      }, cb.track);
    } catch (err) {
      e.log('error', `${what}: its callback could not be published: ${(err as Error).message}`);
    }
  }

  private stored(vhost: string, groupId: string, now: number): StoredGroup | null {
    const s = this.engine.options.store.loadGroup(vhost, groupId);
    if (s === null || s.expiresAt === 0 || s.expiresAt > now) return s;
    // Expired but not swept yet: gone, and out of the way of a new declare of the same id.
    this.engine.options.store.deleteExpiredGroups(now);
    return null;
  }

  private index(g: LiveGroup): void {
    for (const id of g.members) {
      const k = keyOf(g.vhost, id);
      const list = this.byMember.get(k);
      if (list === undefined) this.byMember.set(k, [g]);
      else list.push(g);
    }
  }

  private unindex(g: LiveGroup): void {
    for (const id of g.members) {
      const k = keyOf(g.vhost, id);
      const list = this.byMember.get(k);
      if (list === undefined) continue;
      const i = list.indexOf(g);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byMember.delete(k);
    }
  }
}
