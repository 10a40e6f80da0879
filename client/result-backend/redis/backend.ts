// The result-backend contract on Redis (redis://, rediss://), in Celery's key layout (keys.ts) so
// Python Celery and celeriac share results. Results, groups, revocations and rate buckets live in
// Redis; each change that must be whole is one Lua script (lua-*.ts); waits and revocations are
// pushed through pub/sub (waits.ts, revocation-listener.ts); a complete group's chord callback goes
// out through the paired transport's publish (chords.ts). There is no one-transaction finish with
// a transport: pairLink finishes tasks in ordered steps (client/result-backend/link.ts). Beat's
// store for a broker that keeps none lives here too (beat-store.ts).
import { Redis } from 'ioredis';
import { CeleriacError, fail } from '../../../shared/errors.js';
import type {
  GroupDeclareOptions, GroupRecord, RateLimitSpec, RateOverride, RateSlot, ResultRecord, ResultStoreOptions, RevokedInfo, RevokeOptions,
} from '../../../shared/frames.js';
import { getSerializer, type SerializerName } from '../../../shared/messages/serializers.js';
import type { ResultBackend } from '../result-backend.js';
import { checkRevokeOptions } from '../../../shared/revoke-checks.js';
import { checkExpires, checkId, checkMembers, checkStore, checkTaskIds } from './checks.js';
import { RedisBeatStore, type BeatPublish } from './beat-store.js';
import { ChordCallbacks, claimsOf, encodeCallback, type CallbackPublish } from './chords.js';
import { Calls } from './calls.js';
import { connectRedis, DEFAULT_REQUEST_TIMEOUT, redisOptions, type RedisConnectOptions } from './connect.js';
import { redisError } from './errors.js';
import { groupKey, JOINED_SUFFIX, pendingKey, REVOKED_KEY, REVOKED_LOG_KEY, taskKey } from './keys.js';
import { DECLARE, STORE } from './lua-results.js';
import { REVOKE, REVOKED_AMONG } from './lua-revocations.js';
import { rateOverrides, rateRelease, rateReserve, rateSet } from './rate-slots.js';
import { RevocationListener } from './revocation-listener.js';
import { groupMembersOf, groupMeta, plainBody, recordOf, stateMeta } from './stored-meta.js';
import { Subscriber } from './subscriber.js';
import { waitForResult } from './waits.js';

/** Members one declare script adds (a group of 100,000 is declared in 100 steps). */
const DECLARE_CHUNK = 1_000;
/** Keys one MGET reads. */
const READ_CHUNK = 1_000;

/** Options of openRedisResults. */
export interface RedisResultsOptions extends RedisConnectOptions {
  /**
   * The app's result serializer: what the backend writes the meta of a state without a body in
   * (REVOKED by a revoke) and Celery's group document, and the type it assumes for stored bytes
   * that are neither JSON nor msgpack. Default json.
   */
  serializer?: SerializerName;
  /** Publishes a chord callback through the paired transport (confirmed); without one a complete chord fails. */
  publish?: CallbackPublish;
  /** Told of errors no call waits for (the revocation listener's). */
  onError?: (err: CeleriacError) => void;
}

/**
 * Opens the Redis result backend at `url`. Rejects with ERR_ACCESS_REFUSED for refused credentials,
 * ERR_CONNECTION_CLOSED when Redis cannot be reached, ERR_INVALID_ARGUMENT for a bad URL.
 */
export async function openRedisResults(url: string, options: RedisResultsOptions = {}): Promise<RedisResults> {
  const base = redisOptions(url, options);
  const timeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
  const client = await connectRedis(url, base, timeout);
  const subscriber = new Subscriber(() => new Redis({ ...base, connectionName: `${base.connectionName ?? 'celeriac-results'}-sub` }));
  return new RedisResults(new Calls(client, timeout), subscriber, options);
}

/** The ResultBackend contract on one Redis (see openRedisResults and docs/result-backends.md). */
export class RedisResults implements ResultBackend {
  readonly #serializer: SerializerName;
  readonly #contentType: string;
  readonly #chords: ChordCallbacks;
  readonly #revocations: RevocationListener;
  /** Waits in progress, ended by close(). */
  readonly #waits = new Set<(err: Error) => void>();
  #closed = false;

  constructor(
    private readonly calls: Calls,
    private readonly subscriber: Subscriber,
    options: RedisResultsOptions,
  ) {
    this.#serializer = options.serializer ?? 'json';
    this.#contentType = getSerializer(this.#serializer).contentType;
    this.#chords = new ChordCallbacks(calls, subscriber, options.publish);
    const onError = options.onError;
    this.#revocations = new RevocationListener(calls, subscriber, (err) => onError?.(redisError(err, 'listen for revocations')));
  }

  async storeResult(taskId: string, state: string, body?: Uint8Array, options: ResultStoreOptions = {}): Promise<void> {
    checkStore(taskId, state, options);
    // PENDING is a registration (no meta: lua-results.ts STORE); every other state is stored as meta.
    const value = state === 'PENDING' ? '' : body === undefined || body.length === 0 ? stateMeta(taskId, state, this.#serializer) : plainBody(body, options.contentType);
    const token = this.#chords.token();
    const args = [taskId, value, expiryArg(options.expires), state, token];
    const reply = await this.calls.run(`store the result of task ${taskId}`, (c) => STORE.run(c, [taskKey(taskId), pendingKey(taskId)], args)) as unknown[];
    await this.#chords.settle(claimsOf(reply, 1, token));
  }

  async getResult(taskId: string): Promise<ResultRecord | null> {
    checkId(taskId);
    const key = taskKey(taskId);
    const pending = pendingKey(taskId);
    const replies = await this.calls.run(`read the result of task ${taskId}`, (c) => c.multi().getBuffer(key).pttl(key).pttl(pending).exec());
    const [[getErr, value], [, pttl], [, pendingTtl]] = replies ?? [[null, null], [null, -2], [null, -2]];
    if (getErr) throw redisError(getErr, `read the result of task ${taskId}`);
    if (value instanceof Buffer) return recordOf(taskId, value, this.#contentType, Number(pttl));
    return pendingRecord(taskId, Number(pendingTtl));
  }

  waitResult(taskId: string, timeout: number): Promise<ResultRecord | null> {
    try {
      checkId(taskId);
      if (typeof timeout !== 'number' || !(timeout >= 0)) throw fail('ERR_INVALID_ARGUMENT', 'waitResult: timeout must be a number of ms >= 0');
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#closed) return Promise.reject(fail('ERR_CONNECTION_CLOSED', 'the Redis result backend is closed'));
    const track = (close: (err: Error) => void): (() => void) => {
      this.#waits.add(close);
      return () => { this.#waits.delete(close); };
    };
    return waitForResult({ subscriber: this.subscriber, get: (id) => this.getResult(id), fallbackType: this.#contentType, track }, taskId, timeout);
  }

  async forgetResult(taskId: string): Promise<void> {
    checkId(taskId);
    await this.calls.run(`forget the result of task ${taskId}`, (c) => c.del(taskKey(taskId), pendingKey(taskId)));
  }

  async declareGroup(groupId: string, members: string[], options: GroupDeclareOptions = {}): Promise<void> {
    checkId(groupId, 'a group id');
    checkMembers(members);
    checkExpires(options.expires, "groupDeclare: 'expires'");
    const cb = options.callback;
    const track = cb?.track;
    if (track !== undefined) {
      checkId(track.taskId);
      checkExpires(track.expires, "track 'expires'");
    }
    const head = [
      groupId, '1', groupMeta(groupId, members, this.#serializer), String(members.length), expiryArg(options.expires),
      cb === undefined ? '' : encodeCallback({ exchange: cb.exchange, routingKey: cb.routingKey, body: cb.body, ...(cb.props === undefined ? {} : { props: cb.props }) }),
      track?.taskId ?? '', expiryArg(track?.expires),
    ];
    for (let first = 0; first < members.length; first += DECLARE_CHUNK) {
      const token = this.#chords.token();
      const args = first === 0 ? head : [groupId, '0', '', '', expiryArg(options.expires), '', '', ''];
      const chunk = [...args, token, String(first), ...members.slice(first, first + DECLARE_CHUNK)];
      const reply = await this.calls.run(`declare group ${groupId}`, (c) => DECLARE.run(c, [groupKey(groupId)], chunk)) as unknown[];
      const status = reply[0];
      if (status === 0) throw fail('ERR_PRECONDITION_FAILED', `group '${groupId}' is already declared`, { groupId });
      if (status === -1) throw fail('ERR_NOT_FOUND', `group '${groupId}' expired while it was declared`, { groupId });
      await this.#chords.settle(claimsOf(reply, 1, token));
    }
  }

  async getGroup(groupId: string): Promise<GroupRecord | null> {
    checkId(groupId, 'a group id');
    const key = groupKey(groupId);
    const head = await this.calls.run(`read group ${groupId}`, (c) => c.multi().getBuffer(key).zcard(`${key}${JOINED_SUFFIX}`).exec());
    const [[, doc], [, done]] = head ?? [[null, null], [null, 0]];
    if (!(doc instanceof Buffer)) return null;
    const members = groupMembersOf(groupId, doc, this.#contentType);
    const results: (ResultRecord | null)[] = [];
    for (let first = 0; first < members.length; first += READ_CHUNK) {
      const ids = members.slice(first, first + READ_CHUNK);
      const replies = await this.calls.run(`read the results of group ${groupId}`, (c) => c.multi().mgetBuffer(ids.map(taskKey)).mget(ids.map(pendingKey)).exec());
      const [[, values], [, registered]] = (replies ?? [[null, []], [null, []]]) as [[unknown, (Buffer | null)[]], [unknown, (string | null)[]]];
      ids.forEach((id, i) => {
        const v = values[i];
        results.push(v instanceof Buffer ? recordOf(id, v, this.#contentType) : registered[i] !== null ? { taskId: id, state: 'PENDING' } : null);
      });
    }
    return { groupId, members, done: Number(done), results };
  }

  async revoke(taskIds: string | string[], options: RevokeOptions = {}): Promise<{ revoked: number }> {
    const ids = checkTaskIds(taskIds, 'revoke');
    const { terminate, signal, expires } = checkRevokeOptions(options);
    const pairs: (string | Uint8Array)[] = [];
    for (const id of ids) pairs.push(id, stateMeta(id, 'REVOKED', this.#serializer));
    const token = this.#chords.token();
    const args = [String(expires), terminate ? '1' : '0', signal ?? '', token, JSON.stringify(ids), ...pairs];
    const reply = await this.calls.run('revoke', (c) => REVOKE.run(c, [REVOKED_KEY, REVOKED_LOG_KEY], args)) as unknown[];
    await this.#chords.settle(claimsOf(reply, 1, token));
    return { revoked: Number(reply[0]) };
  }

  async revokedAmong(taskIds: string | string[]): Promise<string[]> {
    const ids = checkTaskIds(taskIds, 'revokedCheck');
    const reply = await this.calls.run('check revocations', (c) => REVOKED_AMONG.run(c, [REVOKED_KEY], ids)) as Buffer[];
    return reply.map((b) => b.toString());
  }

  onRevoked(listener: (info: RevokedInfo) => void): () => void {
    return this.#revocations.add(listener);
  }

  rateReserve(key: string, rate: RateLimitSpec): Promise<RateSlot> {
    return rateReserve(this.calls, key, rate);
  }

  rateRelease(key: string, slot: number): Promise<void> {
    return rateRelease(this.calls, key, slot);
  }

  rateSet(key: string, rate: RateLimitSpec | null): Promise<void> {
    return rateSet(this.calls, key, rate);
  }

  rateOverrides(): Promise<RateOverride[]> {
    return rateOverrides(this.calls);
  }

  /**
   * Beat's store in this Redis (entries, lease, fire log), on this backend's connections and closed
   * with it; `publish` sends a fire's messages (the task link's tracked publish).
   */
  beatStore(publish: BeatPublish): RedisBeatStore {
    return new RedisBeatStore(this.calls, this.subscriber, publish);
  }

  /** Closes both connections: QUIT after the commands sent so far were answered. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = fail('ERR_CONNECTION_CLOSED', 'the Redis result backend was closed during the call');
    for (const end of [...this.#waits]) end(closed);
    this.#chords.close(closed);
    this.#revocations.close();
    this.subscriber.close();
    const client = this.calls.client;
    // QUIT lets the replies to commands already sent arrive; with Redis away there is nothing to wait for.
    if (client.status === 'ready') await this.calls.run('close', (c) => c.quit()).catch(() => undefined);
    client.disconnect();
  }
}

/** The record of a task registered PENDING and not started (no meta: PENDING has none), or null for an unknown id. */
function pendingRecord(taskId: string, pttl: number): ResultRecord | null {
  if (pttl === -2) return null;
  const rec: ResultRecord = { taskId, state: 'PENDING' };
  if (pttl >= 0) rec.expiresAt = Date.now() + pttl;
  return rec;
}

/** An expiry in ms as a script argument: '' for none (0 or absent keeps it for ever, as broker-server). */
function expiryArg(expires: number | undefined): string {
  return expires === undefined || expires === 0 ? '' : String(expires);
}
