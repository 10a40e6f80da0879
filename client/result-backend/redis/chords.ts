// Sending a complete group's chord callback through the transport the backend is paired with.
// The script that made the group complete (a member's store, a revoke, the declare) also claimed
// the callback for this caller, with a lease: publish it, then mark it sent. A publish that fails
// gives the claim back (the next store of a member claims it again); a caller that dies holding
// the claim lets it run out, and the next store of a member (the task redelivered) takes it over.
// So a callback is published once when nothing fails, and at least once when something does.
import { randomUUID } from 'node:crypto';
import { decode, encode } from '@msgpack/msgpack';
import { fail } from '../../../shared/errors.js';
import type { FinishPublish } from '../../../shared/frames.js';
import type { Calls } from './calls.js';
import { callbackKey, groupKey } from './keys.js';
import { CLAIM, SETTLE } from './lua-results.js';
import type { Subscriber } from './subscriber.js';

/** How the backend publishes a chord callback: the paired transport's publish, confirmed. */
export type CallbackPublish = (message: FinishPublish) => Promise<void>;

/** A script's answer about one complete group: its callback to send, or another caller's claim to wait for. */
export type Claim =
  | { kind: 'claim'; groupId: string; token: string; callback: FinishPublish }
  | { kind: 'wait'; groupId: string; ms: number };

/** The callback as stored: msgpack of the FinishPublish (its body is bytes), as broker-server stores it. */
export function encodeCallback(cb: FinishPublish): Uint8Array {
  return encode(cb, { ignoreUndefined: true });
}

function decodeCallback(blob: Uint8Array): FinishPublish {
  const raw = decode(blob) as Record<string, unknown>;
  const cb: FinishPublish = { exchange: raw['exchange'] as string, routingKey: raw['routingKey'] as string, body: raw['body'] as Uint8Array };
  if (raw['props'] !== undefined && raw['props'] !== null) cb.props = raw['props'] as NonNullable<FinishPublish['props']>;
  return cb;
}

/** The claims in a script's reply, from `from` on (each one {gid, 'claim', body} or {gid, 'wait', ms}). */
export function claimsOf(reply: unknown[], from: number, token: string): Claim[] {
  const out: Claim[] = [];
  for (const item of reply.slice(from)) {
    if (!Array.isArray(item)) continue;
    const [gid, kind, value] = item as [Buffer, Buffer, Buffer];
    const groupId = gid.toString();
    if (kind.toString() === 'claim') out.push({ kind: 'claim', groupId, token, callback: decodeCallback(value) });
    else out.push({ kind: 'wait', groupId, ms: Number(value.toString()) });
  }
  return out;
}

export class ChordCallbacks {
  /** Callers waiting out another's claim, woken by close(). */
  readonly #waiting = new Set<() => void>();
  #closed: Error | undefined;

  constructor(
    private readonly calls: Calls,
    private readonly subscriber: Subscriber,
    private readonly publish: CallbackPublish | undefined,
  ) {}

  /** Ends the waits for other callers' claims with `err`. */
  close(err: Error): void {
    this.#closed = err;
    for (const wake of [...this.#waiting]) wake();
  }

  /** A token naming one script call's claims. */
  token(): string {
    return randomUUID();
  }

  /** Sends what `claims` hold, waiting out other callers' claims; rejects when a publish failed. */
  async settle(claims: readonly Claim[]): Promise<void> {
    await Promise.all(claims.map((c) => (c.kind === 'claim' ? this.send(c) : this.outwait(c.groupId))));
  }

  async #settle(groupId: string, token: string, outcome: 'sent' | 'released'): Promise<void> {
    await this.calls.run(`mark the callback of group ${groupId} ${outcome}`, (c) => SETTLE.run(c, [callbackKey(groupId)], [token, outcome]));
  }

  private async send(c: Extract<Claim, { kind: 'claim' }>): Promise<void> {
    try {
      if (this.publish === undefined) throw fail('ERR_TRANSPORT_UNAVAILABLE', `group ${c.groupId} is complete but its chord callback cannot be sent: this result backend is not paired with a transport`);
      await this.publish(c.callback);
    } catch (err) {
      await this.#settle(c.groupId, c.token, 'released').catch(() => undefined);
      throw err;
    }
    await this.#settle(c.groupId, c.token, 'sent');
  }

  /**
   * Another caller holds the claim: claim again each time it is settled (told on the callback
   * key's channel) or runs out; done when the callback was sent. Subscribed before each claim, so
   * a settle between the two is not missed.
   */
  private async outwait(groupId: string): Promise<void> {
    let woken = false;
    let wake: (() => void) | undefined;
    const stop = await this.subscriber.subscribe(callbackKey(groupId), () => {
      woken = true;
      wake?.();
    });
    try {
      for (;;) {
        if (this.#closed !== undefined) throw this.#closed;
        woken = false;
        const token = this.token();
        const reply = await this.calls.run(`claim the callback of group ${groupId}`, (c) => CLAIM.run(c, [groupKey(groupId)], [groupId, token]));
        const [claim] = Array.isArray(reply) ? claimsOf([reply], 0, token) : [];
        if (claim === undefined) return;
        if (claim.kind === 'claim') return await this.send(claim);
        if (woken) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, claim.ms) + 1);
          wake = () => { clearTimeout(timer); resolve(); };
          this.#waiting.add(wake);
        });
        if (wake !== undefined) this.#waiting.delete(wake);
        wake = undefined;
      }
    } finally {
      stop();
    }
  }
}
