// Publisher confirms of one channel in confirm mode [RabbitMQ confirms extension]: publishes are
// numbered from 1; each is acked once the broker took it (after its commit, for a persistent message
// in a durable queue) or nacked when it could not; what settled in one turn goes out together.

/** One basic.ack or basic.nack to send. */
export interface ConfirmFrame {
  readonly ack: boolean;
  readonly deliveryTag: number;
  readonly multiple: boolean;
}

/** The confirm state of one channel. */
export class ConfirmTracker {
  private nextSeq = 1;
  /** Sequence numbers published and not yet settled, in increasing order (a Set keeps insertion order). */
  private readonly unsettled = new Set<number>();
  private acked: number[] = [];
  private nacked: number[] = [];

  /** Numbers the next publish; call once per basic.publish after confirm.select. */
  publish(): number {
    const seq = this.nextSeq++;
    this.unsettled.add(seq);
    return seq;
  }

  /** Records the outcome of publish `seq` (sent by the next take()). */
  settle(seq: number, ok: boolean): void {
    if (!this.unsettled.delete(seq)) return;
    (ok ? this.acked : this.nacked).push(seq);
  }

  /** True when settle() recorded something take() has not returned yet. */
  get ready(): boolean {
    return this.acked.length > 0 || this.nacked.length > 0;
  }

  /**
   * The frames for everything settled since the last call, as RabbitMQ sends them
   * (rabbit_channel.erl, send_confirms): nacks one by one, then one ack with multiple set for all
   * acked publishes below the oldest still unsettled, then a single ack for each later one.
   */
  take(): ConfirmFrame[] {
    const out: ConfirmFrame[] = [];
    if (this.nacked.length > 0) {
      for (const seq of this.nacked.sort(ascending)) out.push({ ack: false, deliveryTag: seq, multiple: false });
      this.nacked = [];
    }
    if (this.acked.length > 0) {
      const acked = this.acked.sort(ascending);
      this.acked = [];
      const oldest = this.unsettled.values().next();
      const floor = oldest.done === true ? Infinity : oldest.value;
      let below = 0;
      while (below < acked.length && acked[below]! < floor) below++;
      // Every publish up to acked[below - 1] is settled now: one ack covers them, nacks already sent.
      if (below > 0) out.push({ ack: true, deliveryTag: acked[below - 1]!, multiple: below > 1 });
      for (let i = below; i < acked.length; i++) out.push({ ack: true, deliveryTag: acked[i]!, multiple: false });
    }
    return out;
  }
}

function ascending(a: number, b: number): number {
  return a - b;
}
