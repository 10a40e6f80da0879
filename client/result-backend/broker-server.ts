// The result-backend contract over broker-server's Connection, the same connection as the
// transport's: the broker keeps results, groups, revocations and rate buckets, and offers the
// one-transaction finish (AtomicFinish) since messages and results share its store.
import { fail } from '../../shared/errors.js';
import type {
  FinishPublish, GroupDeclareOptions, GroupRecord, RateLimitSpec, RateOverride, RateSlot, ResultRecord, ResultStoreOptions, RevokedInfo, RevokeOptions,
} from '../../shared/frames.js';
import type { Connection } from '../connection.js';
import { Message } from '../message.js';
import type { FinishRequest as ConnectionFinish } from '../task-support.js';
import type { AtomicFinish, FinishRequest, ResultBackend } from './result-backend.js';

/** broker-server's result store, reached through `connection`. */
export class BrokerServerResults implements ResultBackend, AtomicFinish {
  constructor(private readonly connection: Connection) {}

  storeResult(taskId: string, state: string, body?: Uint8Array, options?: ResultStoreOptions): Promise<void> {
    return this.connection.storeResult(taskId, state, body, options);
  }

  getResult(taskId: string): Promise<ResultRecord | null> {
    return this.connection.getResult(taskId);
  }

  waitResult(taskId: string, timeout: number): Promise<ResultRecord | null> {
    return this.connection.waitResult(taskId, timeout);
  }

  forgetResult(taskId: string): Promise<void> {
    return this.connection.forgetResult(taskId);
  }

  /** The broker counts members as their results are stored and publishes `callback` itself. */
  declareGroup(groupId: string, members: string[], options?: GroupDeclareOptions): Promise<void> {
    return this.connection.declareGroup(groupId, members, options);
  }

  getGroup(groupId: string): Promise<GroupRecord | null> {
    return this.connection.getGroup(groupId);
  }

  revoke(taskIds: string | string[], options?: RevokeOptions): Promise<{ revoked: number }> {
    return this.connection.revoke(taskIds, options);
  }

  revokedAmong(taskIds: string | string[]): Promise<string[]> {
    return this.connection.revokedAmong(taskIds);
  }

  /** The broker pushes a revocation to connections holding a delivery of it (with terminate: to all). */
  onRevoked(listener: (info: RevokedInfo) => void): () => void {
    this.connection.on('revoked', listener);
    return () => { this.connection.off('revoked', listener); };
  }

  rateReserve(key: string, rate: RateLimitSpec): Promise<RateSlot> {
    return this.connection.rateReserve(key, rate);
  }

  rateRelease(key: string, slot: number): Promise<void> {
    return this.connection.rateRelease(key, slot);
  }

  rateSet(key: string, rate: RateLimitSpec | null): Promise<void> {
    return this.connection.rateSet(key, rate);
  }

  rateOverrides(): Promise<RateOverride[]> {
    return this.connection.rateOverrides();
  }

  /** One broker transaction (OP.finish): see Connection.finish. The delivery must be one of this connection's. */
  finish(req: FinishRequest): Promise<boolean> {
    const ack = req.ack;
    if (ack !== undefined && !(ack instanceof Message)) {
      return Promise.reject(fail('ERR_INVALID_ARGUMENT', 'finish: the delivery to ack did not come from this broker-server connection'));
    }
    // Passed on as it is (no copy per task): its ack, when there is one, is a Message (checked above).
    return this.connection.finish(req as ConnectionFinish);
  }

  /** The publish's `track` registers the id PENDING in the message's own commit, and its result wait (Connection.publishTask). */
  publishTracked(m: FinishPublish): Promise<void> {
    return this.connection.publishTask(m);
  }
}
