// Helpers of the AMQP listener's tests: a broker with the listener on a free port, amqplib connections
// closed by the test's teardown, unique names, and bounded waits on what a channel receives.
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib';
import type { Test } from 'tap';
import type { Broker, BrokerOptions } from '../../server/index.js';
import { startTestBroker } from '../helpers/broker.js';

const WAIT_MS = 5_000;
let seq = 0;

/** A name no other test uses. */
export function unique(prefix: string): string {
  return `${prefix}-${process.pid}-${++seq}`;
}

/** A broker with its AMQP listener on a free port (':memory:', 127.0.0.1), closed by `t`'s teardown. */
export async function startAmqpBroker(t: Test, options: BrokerOptions = {}): Promise<Broker & { amqpUrl: string }> {
  const broker = await startTestBroker(t, { amqpPort: 0, ...options });
  if (broker.amqpUrl === undefined) throw new Error('the broker has no AMQP listener');
  return broker as Broker & { amqpUrl: string };
}

/**
 * An amqplib connection closed by `t`'s teardown. Errors it emits are kept in `errors` rather than
 * thrown (a test looks at them), as are those of its channels opened through `channel`.
 */
export async function open(t: Test, url: string, socketOptions?: object): Promise<ChannelModel & { errors: Error[] }> {
  const conn = await amqp.connect(url, socketOptions) as ChannelModel & { errors: Error[] };
  conn.errors = [];
  conn.on('error', (err: Error) => conn.errors.push(err));
  t.teardown(async () => {
    try {
      await conn.close();
    } catch {
      // closed already (by the broker, or by the test)
    }
  });
  return conn;
}

/** A channel whose errors are kept (in `errors`) instead of thrown. */
export async function channel(conn: ChannelModel): Promise<Channel & { errors: Error[] }> {
  return keepErrors(await conn.createChannel());
}

/** A channel in confirm mode whose errors are kept (in `errors`) instead of thrown. */
export async function confirmChannel(conn: ChannelModel): Promise<ConfirmChannel & { errors: Error[] }> {
  return keepErrors(await conn.createConfirmChannel());
}

function keepErrors<C extends Channel>(channel: C): C & { errors: Error[] } {
  const ch = channel as C & { errors: Error[] };
  ch.errors = [];
  ch.on('error', (err: Error) => ch.errors.push(err));
  return ch;
}

/** Resolves with the error a channel (or connection) closed with; rejects after `ms`. */
export function closedWith(emitter: { once(ev: 'close', fn: () => void): unknown; errors: Error[] }, ms = WAIT_MS): Promise<Error & { code?: number; classId?: number; methodId?: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms);
    emitter.once('close', () => {
      clearTimeout(timer);
      const err = emitter.errors.at(-1);
      if (err === undefined) reject(new Error('closed without an error'));
      else resolve(err);
    });
  });
}

/** Consumes `queue` until `n` messages arrived (each handed to `settle`, default ack); rejects after `ms`. */
export async function take(ch: Channel, queue: string, n: number, options: Options.Consume = {}, settle: (m: ConsumeMessage) => void = (m) => ch.ack(m), ms = WAIT_MS): Promise<{ messages: ConsumeMessage[]; consumerTag: string }> {
  const messages: ConsumeMessage[] = [];
  let done!: () => void;
  const all = new Promise<void>((resolve) => { done = resolve; });
  const { consumerTag } = await ch.consume(queue, (m) => {
    if (m === null) return;
    messages.push(m);
    if (!options.noAck) settle(m);
    if (messages.length === n) done();
  }, options);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`only ${messages.length} of ${n} messages from '${queue}' within ${ms} ms`)), ms); })]);
  clearTimeout(timer);
  return { messages, consumerTag };
}
