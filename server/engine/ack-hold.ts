// When a persisted message is delivered at once and its consumer usually acks within a couple of
// milliseconds, the group commit may wait that long for the ack: the insert and the delete then
// cancel out and the message never touches the disk (RabbitMQ does the same for messages
// consumed before they are persisted). The task's result, written with the ack, goes in the same
// commit as the publish, so one fsync answers both the confirm and the result.
//
// The wait is bounded (ACK_HOLD_MS from the first such insert of a commit) and only taken for
// queues whose recent acks came within half of that, so a publisher of slow tasks never waits for it.

/** Longest a commit waits for acks of messages delivered before it, in ms. */
export const ACK_HOLD_MS = 2;

/** Weight of the newest ack in a queue's moving average of delivery → ack time (1/8, as TCP's RTT estimate). */
const ACK_WEIGHT = 1 / 8;

/**
 * A queue's moving average of how long its consumers take to ack a delivery. It starts slow, so
 * a queue holds no commit until it has seen quick acks.
 */
export class AckPace {
  private averageMs = ACK_HOLD_MS * 4;

  /** Counts one consumer delivery acked `ms` after it went out. */
  acked(ms: number): void {
    this.averageMs += (ms - this.averageMs) * ACK_WEIGHT;
  }

  /** Whether a commit should wait for the ack of a message just delivered from this queue: its acks usually come within half the wait. */
  get quick(): boolean {
    return this.averageMs < ACK_HOLD_MS / 2;
  }
}
