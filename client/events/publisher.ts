// Sends events on the events topic exchange: fire and forget (never awaited on the hot path),
// non-persistent, stamped with the sender's hostname, pid, clock and time; failures logged once.
import type { Transport } from '../transport/transport.js';
import { EVENTS_EXCHANGE, routingKeyOf } from './types.js';

/** BigInts (msgpack results may hold them) go as decimal strings rather than dropping the event. */
const replacer = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

/** Hours from UTC, as Celery's `utcoffset` field. */
function utcoffset(): number {
  return -new Date().getTimezoneOffset() / 60;
}

/** Declares the events exchange on `conn` (idempotent). */
export async function declareEvents(conn: Transport): Promise<void> {
  await conn.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: false });
}

/** Publishes events of one sender (a worker or a producer). */
export class EventPublisher {
  private clock = 0;
  private conn: Transport | undefined;
  private pending: Promise<Transport | undefined> | undefined;
  private failed = false;

  /**
   * `connection` is opened (and the exchange declared) on the first send; events sent meanwhile
   * follow in order. `warn` gets the first failure only: events are a best-effort side channel.
   */
  constructor(readonly hostname: string, private readonly connection: () => Promise<Transport>, private readonly warn: (message: string) => void) {}

  /** Publishes event `type` with `fields` (the sender's stamp fields win over same-named fields). */
  send(type: string, fields: Record<string, unknown> = {}): void {
    const body = { ...fields, type, hostname: this.hostname, timestamp: Date.now() / 1000, pid: process.pid, clock: ++this.clock, utcoffset: utcoffset() };
    let bytes: Buffer;
    try {
      bytes = Buffer.from(JSON.stringify(body, replacer));
    } catch (err) {
      this.fail(`event ${type} could not be encoded: ${String(err)}`);
      return;
    }
    if (this.conn !== undefined) {
      this.publish(this.conn, type, bytes);
      return;
    }
    this.pending ??= this.open();
    void this.pending.then((conn) => {
      if (conn !== undefined) this.publish(conn, type, bytes);
    });
  }

  private async open(): Promise<Transport | undefined> {
    try {
      const conn = await this.connection();
      await declareEvents(conn);
      this.conn = conn;
      return conn;
    } catch (err) {
      this.fail(`events cannot be sent: ${String(err)}`);
      this.pending = undefined; // the next event tries again
      return undefined;
    }
  }

  private publish(conn: Transport, type: string, bytes: Buffer): void {
    conn.publish(EVENTS_EXCHANGE, routingKeyOf(type), bytes, { contentType: 'application/json', persistent: false })
      .catch((err: unknown) => this.fail(`event ${type} was not published: ${String(err)}`));
  }

  private fail(message: string): void {
    if (this.failed) return;
    this.failed = true;
    this.warn(`${message} (further event failures are not logged)`);
  }
}
