// Publishes between publish() and the broker's confirm: waiting to be written (link down or
// blocked), or written and not confirmed. After a drop the written ones are put back to be sent
// again on the next connection (RabbitMQ may have taken them: at-least-once, as Celery).
import type { Options } from 'amqplib';
import { fail, type CeleriacError } from '../../../shared/errors.js';

/** One publish on its way. */
export interface OutgoingPublish {
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: Options.Publish;
  mandatory: boolean;
  /** Written on the current connection's confirm channel. */
  sent: boolean;
  /** RabbitMQ returned it (mandatory, no queue took it): its confirm then rejects with ERR_NO_ROUTE. */
  returned: boolean;
  resolve(): void;
  reject(err: CeleriacError): void;
}

/** The publishes not confirmed yet, oldest first. */
export class Outbox {
  readonly #entries: OutgoingPublish[] = [];
  #drainWaiters: Array<() => void> = [];

  add(p: Omit<OutgoingPublish, 'resolve' | 'reject' | 'sent' | 'returned'>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#entries.push({ ...p, sent: false, returned: false, resolve, reject });
    });
  }

  /** Entries not written yet, in order. */
  unsent(): OutgoingPublish[] {
    return this.#entries.filter((e) => !e.sent);
  }

  /** A basic.return: marks the oldest written mandatory entry that matches (returns come in publish order). */
  returned(exchange: string, routingKey: string, content: Buffer): void {
    const e = this.#entries.find((x) => x.sent && x.mandatory && !x.returned && x.exchange === exchange && x.routingKey === routingKey && x.content.equals(content));
    if (e !== undefined) e.returned = true;
  }

  /** The confirm (err undefined) or refusal of `entry`. */
  settle(entry: OutgoingPublish, err: CeleriacError | undefined): void {
    const i = this.#entries.indexOf(entry);
    if (i < 0) return;
    this.#entries.splice(i, 1);
    if (err !== undefined) entry.reject(err);
    else if (entry.returned) entry.reject(fail('ERR_NO_ROUTE', `no queue is bound to '${entry.exchange}' for routing key '${entry.routingKey}' (mandatory publish)`, { exchange: entry.exchange, routingKey: entry.routingKey }));
    else entry.resolve();
    if (this.#entries.length === 0) for (const w of this.#drainWaiters.splice(0)) w();
  }

  /** After a drop: every written entry waits to be written again. */
  unsendAll(): void {
    for (const e of this.#entries) {
      e.sent = false;
      e.returned = false;
    }
  }

  /** Resolves when nothing is pending, or after `timeoutMs`. */
  drained(timeoutMs: number): Promise<void> {
    if (this.#entries.length === 0 || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#drainWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Rejects everything still pending (closed for good). */
  failAll(err: CeleriacError): void {
    for (const e of this.#entries.splice(0)) e.reject(err);
    for (const w of this.#drainWaiters.splice(0)) w();
  }
}
