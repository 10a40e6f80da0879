// The broker requests the task layer builds on: results, finish, revoke, rate limits and groups.
// A base of Connection written against its request primitive, so connection.ts keeps the socket work.
import { EventEmitter } from 'node:events';
import { CeleriacError, fail } from '../shared/errors.js';
import type {
  FinishPublish, FinishResult, PublishFrame, GroupDeclareOptions, GroupRecord, RateLimitSpec, RateSlot, ResultRecord, ResultStoreOptions, RevokeOptions, RateOverride,
} from '../shared/frames.js';
import { OP } from '../shared/opcodes.js';
import type { ConnectionEvents } from './api-types.js';
import type { Message } from './message.js';
import { PushedResults } from './pushed-results.js';
import { asGroupRecord, asResultRecord, isRecord, unexpected } from './replies.js';
import type { RequestFrame } from './requests.js';

/** What a worker's finish does (see Connection.finish). */
export interface FinishRequest {
  ack?: Message;
  result?: FinishResult;
  publishes?: FinishPublish[];
  /**
   * Nothing without the ack: when `ack`'s delivery died with its socket (the broker requeued the
   * message), send nothing and resolve false. For a finish that replaces the message (a copy
   * published for later), which must not happen beside the requeued original.
   */
  ackRequired?: boolean;
}

/** Errors after which a finish's message stays settled (see finish). */
const STILL_CLAIMED: ReadonlySet<string> = new Set(['ERR_TIMEOUT', 'ERR_CONNECTION_CLOSED', 'ERR_UNKNOWN_DELIVERY_TAG']);

function invalid(message: string): never {
  throw fail('ERR_INVALID_ARGUMENT', message);
}

/** Checks what the codec would refuse, so bad input fails this call, never the connection. */
function strings(v: unknown, what: string): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) invalid(`${what} must be a string or an array of strings`);
  return list as string[];
}

function optionalUint(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) invalid(`${what} must be a non-negative integer (ms)`);
  return v;
}

function rateOf(rate: unknown, what: string): RateLimitSpec {
  if (!isRecord(rate) || typeof rate.count !== 'number' || !Number.isFinite(rate.count) || rate.count < 0) {
    invalid(`${what}: rate must be { count: number >= 0, intervalMs: positive integer }`);
  }
  const intervalMs = rate.intervalMs;
  if (typeof intervalMs !== 'number' || !Number.isSafeInteger(intervalMs) || intervalMs < 0) invalid(`${what}: intervalMs must be a positive integer (ms)`);
  return { count: rate.count, intervalMs };
}

/**
 * The task layer's requests of a Connection (which extends this). Kept apart from the socket,
 * reconnect and consumer machinery of connection.ts; each needs only `request` and `newId`.
 */
export abstract class TaskRequests extends EventEmitter<ConnectionEvents> {
  /** @internal Sends `frame`; `retry` = safe to send again after a reconnect; extra time for late answers. */
  protected abstract request(frame: RequestFrame, retry: boolean, extraTimeoutMs?: number): Promise<unknown>;
  /** @internal A fresh request id. */
  protected abstract newId(): number;
  /** @internal Sends a built publish frame; settles on its confirm (see Connection.publish). */
  protected abstract publishFrame(frame: PublishFrame): Promise<void>;
  /** @internal Result waits registered by publishes (see publishTask); Connection feeds it replies. */
  protected readonly pushed = new PushedResults();

  /**
   * Publishes a task message with its PENDING track in the publish's commit. When the broker can
   * (capability 'publish-wait') and there is room, the publish also registers the task's result
   * wait, so a later waitResult (AsyncResult.get) is answered from the record the broker pushes,
   * without a request of its own. Resolves once confirmed.
   */
  publishTask(m: FinishPublish): Promise<void> {
    const track = m.track;
    const frame: PublishFrame = { op: OP.publish, id: this.newId(), exchange: m.exchange, routingKey: m.routingKey, body: m.body, props: m.props, mandatory: undefined, track };
    if (track === undefined || !this.pushed.hasRoom()) return this.publishFrame(frame);
    const wait = this.newId();
    frame.track = { ...track, wait };
    this.pushed.register(track.taskId, wait, frame.id);
    return this.publishFrame(frame).catch((err: unknown) => {
      this.pushed.forget(wait);
      throw err;
    });
  }

  /** Stores a task's state and result in the broker's result store; resolves once committed. */
  async storeResult(taskId: string, state: string, body?: Uint8Array, options: ResultStoreOptions = {}): Promise<void> {
    const frame: RequestFrame = { op: OP.resultStore, id: this.newId(), taskId, state, options };
    if (body !== undefined) frame.body = body;
    await this.request(frame, true);
  }

  /** The stored result of a task, or null when the broker does not know the id. */
  async getResult(taskId: string): Promise<ResultRecord | null> {
    return asResultRecord(await this.request({ op: OP.resultGet, id: this.newId(), taskId }, true));
  }

  /**
   * Resolves when the task's result reaches a final state (the broker pushes it), or after
   * `timeout` ms with the record as it is then (null when unknown).
   */
  async waitResult(taskId: string, timeout: number): Promise<ResultRecord | null> {
    // A wait its publish registered answers without a request; lost or timed out, ask for what is left.
    const started = Date.now();
    const taken = this.pushed.take(taskId, timeout);
    const outcome = taken instanceof Promise ? await taken : taken;
    if (outcome !== undefined) return outcome.record;
    const left = taken === undefined ? timeout : Math.max(0, timeout - (Date.now() - started));
    // The broker answers late on purpose: the request may take `left` longer than others.
    return asResultRecord(await this.request({ op: OP.resultWait, id: this.newId(), taskId, timeout: left }, true, left));
  }

  /** Forgets a task's result. */
  async forgetResult(taskId: string): Promise<void> {
    await this.request({ op: OP.resultForget, id: this.newId(), taskId }, true);
  }

  /**
   * A worker's end of a task in ONE broker transaction: acks `ack`, stores `result`, publishes
   * `publishes` (a chain's next step, callbacks) — so a task is never acked with its result or
   * next step lost. Resolves once committed. Not re-sent after a reconnect (it would publish
   * twice); if the message's socket dropped, the ack is left out (the broker requeued it), or
   * with `ackRequired` nothing is sent. Resolves true once committed, false when nothing was sent.
   * A finish the broker refuses changed nothing: `ack` is unsettled again, to settle another way.
   */
  async finish(req: FinishRequest): Promise<boolean> {
    const frame: RequestFrame = { op: OP.finish, id: this.newId() };
    if (req.result !== undefined) frame.result = req.result;
    if (req.publishes !== undefined && req.publishes.length > 0) frame.publishes = req.publishes;
    if (req.ack !== undefined) {
      const tag = req.ack.claimForFinish();
      if (tag !== 0) frame.ack = tag;
      else if (req.ackRequired === true) return false;
    }
    try {
      await this.request(frame, false);
    } catch (err) {
      // A refusal left the delivery unacked: the caller may settle it another way. A finish cut
      // off (dropped socket, no answer in time) may have committed, and an unknown tag is not
      // held at all, so then the message stays claimed.
      if (frame.ack !== undefined && !(err instanceof CeleriacError && STILL_CLAIMED.has(err.code))) {
        req.ack!.unclaimAfterRefusal();
      }
      throw err;
    }
    return true;
  }

  /**
   * Revokes task ids (1 to 10,000): the broker remembers them for `expires` ms (default 24 h, across
   * restarts; 0 = forever), stores REVOKED for those not final yet, never hands their messages to a
   * consumer again, and pushes 'revoked' to every connection holding an unacked delivery of one —
   * with `terminate` (and `signal`), to every connection of the vhost, since a task acked early is
   * running where the broker cannot trace it. Resolves with how many distinct ids, once committed.
   */
  async revoke(taskIds: string | string[], options: RevokeOptions = {}): Promise<{ revoked: number }> {
    const frame: RequestFrame = { op: OP.revoke, id: this.newId(), taskIds: strings(taskIds, 'revoke(taskIds)') };
    if (options.terminate !== undefined) frame.terminate = options.terminate === true;
    if (options.signal !== undefined) {
      if (typeof options.signal !== 'string') invalid('revoke: signal must be a string such as SIGTERM');
      frame.signal = options.signal;
    }
    const expires = optionalUint(options.expires, 'revoke: expires');
    if (expires !== undefined) frame.expires = expires;
    const result = await this.request(frame, true);
    if (!isRecord(result) || typeof result.revoked !== 'number') return unexpected('a revoke');
    return { revoked: result.revoked };
  }

  /** Whether the broker holds a revocation of this task id. */
  async isRevoked(taskId: string): Promise<boolean> {
    return (await this.revokedAmong(taskId)).length > 0;
  }

  /** The revoked ones among `taskIds` (1 to 10,000), in one request. */
  async revokedAmong(taskIds: string | string[]): Promise<string[]> {
    const result = await this.request({ op: OP.revokedCheck, id: this.newId(), taskIds: strings(taskIds, 'isRevoked(taskId)') }, true);
    if (!Array.isArray(result) || !result.every((s) => typeof s === 'string')) return unexpected('a revokedCheck');
    return result as string[];
  }

  /**
   * Reserves the next start slot of the cluster-wide rate bucket `key` (`count` starts per
   * `intervalMs`, burst 1, shared by every worker; count 0 = no limit; an override set by rateSet wins)
   * and resolves with the ms to wait before starting (0 = now).
   */
  async rateAcquire(key: string, rate: RateLimitSpec): Promise<number> {
    return (await this.rateReserve(key, rate)).delay;
  }

  /**
   * rateAcquire with the slot itself: `delay` (ms to wait, 0 = now) and `slot`, the broker's name
   * for it, to give it back with rateRelease if the task will not start then.
   */
  async rateReserve(key: string, rate: RateLimitSpec): Promise<RateSlot> {
    if (typeof key !== 'string') invalid('rateAcquire(key): key must be a string');
    const { count, intervalMs } = rateOf(rate, 'rateAcquire');
    // Safe to repeat after a reconnect: a slot reserved twice only delays this caller.
    const result = await this.request({ op: OP.rateAcquire, id: this.newId(), key, count, intervalMs }, true);
    if (!isRecord(result) || typeof result.delay !== 'number') return unexpected('a rateAcquire');
    // A broker older than rateRelease answers the delay only: its slot cannot be given back (NaN).
    return { delay: result.delay, slot: typeof result.slot === 'number' ? result.slot : Number.NaN };
  }

  /**
   * Gives back a slot rateReserve reserved for a task that will not start at it (it went back to
   * its queue): the next caller of the bucket gets it. Repeating a release is harmless.
   */
  async rateRelease(key: string, slot: number): Promise<void> {
    if (typeof key !== 'string') invalid('rateRelease(key): key must be a string');
    if (typeof slot !== 'number' || !Number.isFinite(slot)) invalid('rateRelease(slot): slot must be the number rateReserve answered');
    await this.request({ op: OP.rateRelease, id: this.newId(), key, slot }, true);
  }

  /** Overrides bucket `key`'s rate for every caller until cleared with null (Celery's rate_limit command). */
  async rateSet(key: string, rate: RateLimitSpec | null): Promise<void> {
    if (typeof key !== 'string') invalid('rateSet(key): key must be a string');
    const frame: RequestFrame = { op: OP.rateSet, id: this.newId(), key };
    if (rate !== null) {
      const { count, intervalMs } = rateOf(rate, 'rateSet');
      frame.count = count;
      frame.intervalMs = intervalMs;
    }
    await this.request(frame, true);
  }

  /** The override rates set by rateSet (in this vhost): a worker reads them when it starts. */
  async rateOverrides(): Promise<RateOverride[]> {
    const result = await this.request({ op: OP.rateOverrides, id: this.newId() }, true);
    if (!Array.isArray(result)) return unexpected('a rateOverrides');
    return result.filter((r): r is RateOverride => isRecord(r) && typeof r.key === 'string' && typeof r.count === 'number' && typeof r.intervalMs === 'number');
  }

  /**
   * Declares a group (1 to 100,000 distinct member task ids, in order): the broker counts its members'
   * final results atomically with storing them and publishes `callback` (a chord body; its `track`
   * id is registered PENDING at once) exactly once when all are final. Resolves once committed; a
   * second declare of the id fails with ERR_PRECONDITION_FAILED.
   */
  async declareGroup(groupId: string, members: string[], options: GroupDeclareOptions = {}): Promise<void> {
    if (typeof groupId !== 'string') invalid('declareGroup(groupId): groupId must be a string');
    if (!Array.isArray(members)) invalid('declareGroup(groupId, members): members must be an array of task ids');
    const frame: RequestFrame = { op: OP.groupDeclare, id: this.newId(), groupId, members: strings(members, 'declareGroup(members)') };
    if (options.callback !== undefined) frame.callback = options.callback;
    const expires = optionalUint(options.expires, 'declareGroup: expires');
    if (expires !== undefined) frame.expires = expires;
    // Not repeated after a reconnect: a declare that did commit would come back ERR_PRECONDITION_FAILED.
    await this.request(frame, false);
  }

  /** A group with its members' results in member order, or null when unknown or expired. */
  async getGroup(groupId: string): Promise<GroupRecord | null> {
    if (typeof groupId !== 'string') invalid('getGroup(groupId): groupId must be a string');
    return asGroupRecord(await this.request({ op: OP.groupGet, id: this.newId(), groupId }, true));
  }
}
