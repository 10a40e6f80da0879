// The result-backend contract: where task states and results, groups, revocations and the shared
// rate buckets are kept, and the task link that pairs a backend with a transport. Types only;
// implementations live beside this file (broker-server.ts) and the generic pairing in link.ts.
import type {
  FinishPublish, FinishResult, GroupDeclareOptions, GroupRecord, RateLimitSpec, RateOverride, RateSlot, ResultRecord, ResultStoreOptions,
  RevokedInfo, RevokeOptions,
} from '../../shared/frames.js';
import type { Delivery, Transport } from '../transport/transport.js';

/**
 * A result store shared by producers and workers. Every method rejects with a CeleriacError
 * carrying a code from shared/errors; a backend that reconnects re-sends what is safe to repeat.
 */
export interface ResultBackend {
  /**
   * Stores a task's state and result (the result serializer's bytes, opaque here); resolves once
   * durable. `options.expires` (resultExpires, ms) makes the backend forget it after that long.
   * Storing a final state of a group member counts it, atomically with the store (see declareGroup).
   * Storing the same record twice is harmless: a member counts once.
   */
  storeResult(taskId: string, state: string, body?: Uint8Array, options?: ResultStoreOptions): Promise<void>;
  /** The stored record, or null when the id is unknown (never stored, expired or forgotten). */
  getResult(taskId: string): Promise<ResultRecord | null>;
  /**
   * Resolves when the task's record reaches a final state (pushed by the backend: no polling), or
   * after `timeout` ms with the record as it is then (null when unknown).
   */
  waitResult(taskId: string, timeout: number): Promise<ResultRecord | null>;
  /** Forgets a task's result. */
  forgetResult(taskId: string): Promise<void>;

  /**
   * Declares a group (chord header) of member task ids, in order. The backend counts its members'
   * final results atomically with storing them and publishes `callback` (the chord body, through
   * the transport it is paired with, or itself when it is the broker) exactly once when all are
   * final. A second declare of the id fails with ERR_PRECONDITION_FAILED.
   */
  declareGroup(groupId: string, members: string[], options?: GroupDeclareOptions): Promise<void>;
  /** A group with its members' results in member order, or null when unknown or expired. */
  getGroup(groupId: string): Promise<GroupRecord | null>;

  /**
   * Revokes task ids: kept `expires` ms (default 24 h; 0 = forever) across restarts; the ones not
   * final yet are stored REVOKED. Workers hear of them through onRevoked. Resolves with how many
   * distinct ids, once durable.
   */
  revoke(taskIds: string | string[], options?: RevokeOptions): Promise<{ revoked: number }>;
  /** The revoked ones among `taskIds`, in one call. */
  revokedAmong(taskIds: string | string[]): Promise<string[]>;
  /**
   * Calls `listener` with revocations made from now on that concern this process (at least those
   * of deliveries it holds; with `terminate`, all). Returns the function that stops listening.
   */
  onRevoked(listener: (info: RevokedInfo) => void): () => void;

  /**
   * Reserves the next start slot of the cluster-wide bucket `key` (`count` starts per `intervalMs`,
   * shared by every worker; an override set by rateSet wins): `delay` is the ms to wait (0 = now),
   * `slot` names it for rateRelease.
   */
  rateReserve(key: string, rate: RateLimitSpec): Promise<RateSlot>;
  /** Gives back a slot reserved for a task that will not start at it. Repeating it is harmless. */
  rateRelease(key: string, slot: number): Promise<void>;
  /** Overrides bucket `key`'s rate for every caller until cleared with null. */
  rateSet(key: string, rate: RateLimitSpec | null): Promise<void>;
  /** The overrides set by rateSet, read by a worker when it starts. */
  rateOverrides(): Promise<RateOverride[]>;
}

/** The end of a task as the worker asks for it: settle its delivery, store its result, publish what follows. */
export interface FinishRequest {
  /** The delivery to ack (late acks); absent when it was acked early. */
  ack?: Delivery;
  result?: FinishResult;
  /** A chain's next step, callbacks, a retry's copy: published to the transport. */
  publishes?: FinishPublish[];
  /**
   * Nothing without the ack: when `ack`'s delivery is no longer live (its channel dropped and the
   * broker requeued it), do nothing and resolve false. For an end that replaces the message (a copy
   * published for later), which must not happen beside the requeued original.
   */
  ackRequired?: boolean;
}

/**
 * The optional capability of a transport and backend that share one store: the whole end of a task
 * (ack + result + publishes) in ONE transaction, and a task message published with its PENDING
 * record in one commit. Offered by broker-server; other pairs leave it out and the task link falls
 * back to separate steps (link.ts).
 */
export interface AtomicFinish {
  /**
   * All of `req` or none of it. Resolves true once committed, false when nothing was sent
   * (`ackRequired` and the delivery is gone). A refusal changed nothing (the delivery is unsettled
   * again, to settle another way); a finish cut off (ERR_CONNECTION_CLOSED, ERR_TIMEOUT) may have committed.
   */
  finish(req: FinishRequest): Promise<boolean>;
  /** Publishes a task message and registers its `track` id PENDING in the same commit. */
  publishTracked(message: FinishPublish): Promise<void>;
}

/**
 * What the task layer holds: a transport and a result backend, paired, with the finish and the
 * tracked publish they offer together (atomic when the pair can, in ordered steps when not).
 */
export interface TaskLink extends AtomicFinish {
  readonly transport: Transport;
  readonly results: ResultBackend;
  /** True when finish and publishTracked are single transactions (AtomicFinish), false for the stepwise fallback. */
  readonly atomic: boolean;
  /** Closes the transport and the backend (once, when they are one connection). */
  close(): Promise<void>;
}
