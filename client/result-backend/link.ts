// Pairs a transport with a result backend into the TaskLink the task layer holds: the pair's own
// one-transaction finish when it has one (AtomicFinish), else the stepwise finish below, ordered
// so that a crash or a drop between two steps loses nothing (it may repeat a step instead).
import type { FinishPublish } from '../../shared/frames.js';
import type { Transport } from '../transport/transport.js';
import type { AtomicFinish, FinishRequest, ResultBackend, TaskLink } from './result-backend.js';

/** What pairLink needs beside the two: the pair's atomic finish, if any, and how to close both. */
export interface PairOptions {
  atomic?: AtomicFinish | undefined;
  close(): Promise<void>;
}

/** The TaskLink of `transport` and `results`. */
export function pairLink(transport: Transport, results: ResultBackend, options: PairOptions): TaskLink {
  const atomic = options.atomic;
  const publishTracked = atomic !== undefined ? (m: FinishPublish) => atomic.publishTracked(m) : (m: FinishPublish) => publishThenTrack(transport, results, m);
  return {
    transport,
    results,
    atomic: atomic !== undefined,
    finish: atomic !== undefined ? (req) => atomic.finish(req) : (req) => finishInSteps(transport, results, req),
    publishTracked,
    close: options.close,
  };
}

/**
 * A tracked publish in two steps: the PENDING record first, then the message. The other order could
 * let a fast worker's final state be overwritten by the late PENDING. A publish that then fails
 * leaves a PENDING record of a task never sent (it expires with `track.expires`); nothing is lost.
 */
async function publishThenTrack(transport: Transport, results: ResultBackend, m: FinishPublish): Promise<void> {
  if (m.track !== undefined) {
    await results.storeResult(m.track.taskId, 'PENDING', undefined, m.track.expires === undefined ? {} : { expires: m.track.expires });
  }
  await transport.publish(m.exchange, m.routingKey, m.body, m.props);
}

/**
 * The end of a task without a shared transaction, in the order that loses nothing:
 * 1. the result is stored (and counted for its group: a chord body is published by the backend);
 * 2. the follow-up messages are published, each confirmed (tracked ones registered PENDING first);
 * 3. only then the delivery is acked.
 * A crash or drop before 3 leaves the delivery unacked: the broker redelivers it, the task runs
 * again and steps 1-2 repeat (a result stored twice counts once; follow-ups may go twice, Celery's
 * at-least-once). A step that fails stops the rest and rejects: the delivery is still unsettled,
 * for the caller to settle another way; unlike the atomic finish, the earlier steps stay done.
 */
export async function finishInSteps(transport: Transport, results: ResultBackend, req: FinishRequest): Promise<boolean> {
  const delivery = req.ack;
  if (delivery !== undefined && req.ackRequired === true && !delivery.deliveryLive) return false;
  if (req.result !== undefined) {
    const r = req.result;
    await results.storeResult(r.taskId, r.state, r.body, r.options ?? {});
  }
  const publishes = req.publishes ?? [];
  // Issued in order, confirmed together: the transport keeps their order on the wire.
  await Promise.all(publishes.map((p) => publishThenTrack(transport, results, p)));
  // A delivery whose channel dropped meanwhile was requeued by the broker: its ack would be void.
  if (delivery !== undefined && delivery.deliveryLive) delivery.ack();
  return true;
}
