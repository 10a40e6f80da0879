// The result-backend contract on Redis (redis://, rediss://), in Celery's key layout (keys.ts) so
// Python Celery and celeriac share results. Results, groups, revocations and rate buckets live in
// Redis; each change that must be whole is one Lua script (lua-*.ts); waits and revocations are
// pushed through pub/sub (waits.ts, revocation-listener.ts); a complete group's chord callback goes
// out through the paired transport's publish (chords.ts). There is no one-transaction finish with
// a transport: pairLink finishes tasks in ordered steps (client/result-backend/link.ts).
import { Redis } from 'ioredis';
import { CeleriacError, fail } from '../../../shared/errors.js';
import type {
  GroupDeclareOptions, GroupRecord, RateLimitSpec, RateOverride, RateSlot, ResultRecord, ResultStoreOptions, RevokedInfo, RevokeOptions,
} from '../../../shared/frames.js';
import { getSerializer, type SerializerName } from '../../../shared/messages/serializers.js';
import type { ResultBackend } from '../result-backend.js';
import { checkExpires, checkId, checkMembers, checkRevokeOptions, checkStore, checkTaskIds } from './checks.js';
import { ChordCallbacks, claimsOf, encodeCallback, type CallbackPublish } from './chords.js';
import { connectRedis, redisOptions, type RedisConnectOptions } from './connect.js';
import { redisError } from './errors.js';
import { groupKey, JOINED_SUFFIX, REVOKED_KEY, REVOKED_LOG_KEY, taskKey } from './keys.js';
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
   * (PENDING, REVOKED) and Celery's group document, and the type it assumes for stored bytes that
   * are neither JSON nor msgpack. Default json.
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
  const client = await connectRedis(url, base);
  const subscriber = new Subscriber(() => new Redis({ ...base, connectionName: `${base.connectionName ?? 'celeriac-results'}-sub`, commandTimeout: undefined }));
  return new RedisResults(client, subscriber, options);
}

export class RedisResults implements ResultBackend {
  readonly #serializer: SerializerName;
  readonly #contentType: string;
  readonly #chords: ChordCallbacks;
  readonly #revocations: RevocationListener;
  #closed = false;

  constructor(
    private readonly client: Redis,
    private readonly subscriber: Subscriber,
    options: RedisResultsOptions,
  ) {
    this.#serializer = options.serializer ?? 'json';
    this.#contentType = getSerializer(this.#serializer).contentType;
    this.#chords = new ChordCallbacks(client, subscriber, options.publish);
    const onError = options.onError;
    this.#revocations = new RevocationListener(client, subscriber, (err) => onError?.(redisError(err, 'listen for revocations')));
  }

  async storeResult(taskId: string, state: string, body?: Uint8Array, options: ResultStoreOptions = {}): Promise<void> {
    checkStore(taskId, state, options);
    const value = body === undefined || body.length === 0 ? stateMeta(taskId, state, this.#serializer) : plainBody(body, options.contentType);
    const token = this.#chords.token();
    let reply: unknown[];
    try {
      reply = await STORE.run(this.client, [taskKey(taskId)], [taskId, value, expiryArg(options.expires), state, token]) as unknown[];
    } catch (err) {
      throw redisError(err, `store the result of task ${taskId}`);
    }
    await this.#chords.settle(claimsOf(reply, 1, token));
  }

  async getResult(taskId: string): Promise<ResultRecord | null> {
    checkId(taskId);
    const key = taskKey(taskId);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await this.client.multi().getBuffer(key).pttl(key).exec();
    } catch (err) {
      throw redisError(err, `read the result of task ${taskId}`);
    }
    const [[getErr, value], [, pttl]] = replies ?? [[null, null], [null, -2]];
    if (getErr) throw redisError(getErr, `read the result of task ${taskId}`);
    return value instanceof Buffer ? recordOf(taskId, value, this.#contentType, Number(pttl)) : null;
  }

  waitResult(taskId: string, timeout: number): Promise<ResultRecord | null> {
    try {
      checkId(taskId);
      if (typeof timeout !== 'number' || !(timeout >= 0)) throw fail('ERR_INVALID_ARGUMENT', 'waitResult: timeout must be a number of ms >= 0');
    } catch (err) {
      return Promise.reject(err);
    }
    return waitForResult({ subscriber: this.subscriber, get: (id) => this.getResult(id), fallbackType: this.#contentType }, taskId, timeout);
  }

  async forgetResult(taskId: string): Promise<void> {
    checkId(taskId);
    try {
      await this.client.del(taskKey(taskId));
    } catch (err) {
      throw redisError(err, `forget the result of task ${taskId}`);
    }
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
      track?.taskId ?? '', track === undefined ? '' : stateMeta(track.taskId, 'PENDING', this.#serializer), expiryArg(track?.expires),
    ];
    for (let first = 0; first < members.length; first += DECLARE_CHUNK) {
      const token = this.#chords.token();
      const args = first === 0 ? head : [groupId, '0', '', '', expiryArg(options.expires), '', '', '', ''];
      let reply: unknown[];
      try {
        reply = await DECLARE.run(this.client, [groupKey(groupId)], [...args, token, String(first), ...members.slice(first, first + DECLARE_CHUNK)]) as unknown[];
      } catch (err) {
        throw redisError(err, `declare group ${groupId}`);
      }
      const status = reply[0];
      if (status === 0) throw fail('ERR_PRECONDITION_FAILED', `group '${groupId}' is already declared`, { groupId });
      if (status === -1) throw fail('ERR_NOT_FOUND', `group '${groupId}' expired while it was declared`, { groupId });
      await this.#chords.settle(claimsOf(reply, 1, token));
    }
  }

  async getGroup(groupId: string): Promise<GroupRecord | null> {
    checkId(groupId, 'a group id');
    const key = groupKey(groupId);
    let head: [Error | null, unknown][] | null;
    try {
      head = await this.client.multi().getBuffer(key).zcard(`${key}${JOINED_SUFFIX}`).exec();
    } catch (err) {
      throw redisError(err, `read group ${groupId}`);
    }
    const [[, doc], [, done]] = head ?? [[null, null], [null, 0]];
    if (!(doc instanceof Buffer)) return null;
    const members = groupMembersOf(groupId, doc, this.#contentType);
    const results: (ResultRecord | null)[] = [];
    for (let first = 0; first < members.length; first += READ_CHUNK) {
      const ids = members.slice(first, first + READ_CHUNK);
      let values: (Buffer | null)[];
      try {
        values = await this.client.mgetBuffer(ids.map(taskKey));
      } catch (err) {
        throw redisError(err, `read the results of group ${groupId}`);
      }
      ids.forEach((id, i) => {
        const v = values[i];
        results.push(v instanceof Buffer ? recordOf(id, v, this.#contentType) : null);
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
    let reply: unknown[];
    try {
      reply = await REVOKE.run(this.client, [REVOKED_KEY, REVOKED_LOG_KEY], [
        String(expires), terminate ? '1' : '0', signal ?? '', token, JSON.stringify(ids), ...pairs,
      ]) as unknown[];
    } catch (err) {
      throw redisError(err, 'revoke');
    }
    await this.#chords.settle(claimsOf(reply, 1, token));
    return { revoked: Number(reply[0]) };
  }

  async revokedAmong(taskIds: string | string[]): Promise<string[]> {
    const ids = checkTaskIds(taskIds, 'revokedCheck');
    try {
      const reply = await REVOKED_AMONG.run(this.client, [REVOKED_KEY], ids) as Buffer[];
      return reply.map((b) => b.toString());
    } catch (err) {
      throw redisError(err, 'check revocations');
    }
  }

  onRevoked(listener: (info: RevokedInfo) => void): () => void {
    return this.#revocations.add(listener);
  }

  rateReserve(key: string, rate: RateLimitSpec): Promise<RateSlot> {
    return rateReserve(this.client, key, rate);
  }

  rateRelease(key: string, slot: number): Promise<void> {
    return rateRelease(this.client, key, slot);
  }

  rateSet(key: string, rate: RateLimitSpec | null): Promise<void> {
    return rateSet(this.client, key, rate);
  }

  rateOverrides(): Promise<RateOverride[]> {
    return rateOverrides(this.client);
  }

  /** Closes both connections: QUIT after the commands sent so far were answered. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#revocations.close();
    this.subscriber.close();
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** An expiry in ms as a script argument: '' for none (0 or absent keeps it for ever, as broker-server). */
function expiryArg(expires: number | undefined): string {
  return expires === undefined || expires === 0 ? '' : String(expires);
}
