// The amqplib differential suite's harness: one scenario function runs against a real RabbitMQ and
// against broker-server's AMQP listener, each run returns a plain record of what amqplib observed,
// and the test asserts the two records are deep-equal after the few normalisations listed below.
//
// Normalisations (the only differences allowed between the two records), applied to both sides:
// - server-generated queue names `amq.gen-` + 22 base64url characters become `amq.gen-*`;
// - server-generated consumer tags `amq.ctag-` + 22 base64url characters become `amq.ctag-*`;
// - the `time` of an x-death entry (a timestamp the server stamps when it dead-letters) becomes
//   `<time>` once it is checked to be a timestamp within the test's run;
// - in a 406 `inequivalent arg` reply text, RabbitMQ's ` of type 'short'` (the wire type the first
//   declare used, which broker-server does not keep; docs/amqp.md) is dropped.
// A name that does not have RabbitMQ's form is left as it is, so the comparison catches it.
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type GetMessage, type Message } from 'amqplib';
import type { Test } from 'tap';
import { startRabbit } from '../helpers/rabbitmq.js';
import { startTestBroker } from '../helpers/broker.js';
import { sleep, until } from '../helpers/wait.js';

/** Where a scenario runs: RabbitMQ, or broker-server's AMQP port. */
export interface Target {
  readonly kind: 'rabbitmq' | 'broker-server';
  readonly url: string;
}

/** An amqplib connection whose errors (and its channels') are kept rather than thrown. */
export type Conn = ChannelModel & { errors: Error[] };
/** A channel whose errors are kept in `errors`. */
export type Ch = Channel & { errors: Error[] };
/** A confirm channel whose errors are kept in `errors`. */
export type ConfirmCh = ConfirmChannel & { errors: Error[] };

/** What a scenario is given: connections to its target, closed after it. Scenarios never ask which target. */
export interface DiffContext {
  /** A new amqplib connection to the target, closed when the scenario ends. */
  open(): Promise<Conn>;
}

/** A scenario: acts through amqplib and returns what it observed, as plain JSON-able data. */
export type Scenario = (ctx: DiffContext) => Promise<unknown>;

/** A bounded wait for a scenario's deliveries (an event or a count, never a clock). */
export const WAIT_MS = 5_000;

/**
 * Starts this file's RabbitMQ and a broker-server with its AMQP listener, side by side, both stopped by
 * `t`'s teardown. Call once per file: a RabbitMQ boot costs 7-22 s.
 */
export async function startTargets(t: Test): Promise<readonly Target[]> {
  const [rabbit, broker] = await Promise.all([startRabbit(t), startTestBroker(t, { amqpPort: 0 })]);
  t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);
  if (broker.amqpUrl === undefined) throw new Error('the broker has no AMQP listener');
  return [{ kind: 'rabbitmq', url: rabbit.url }, { kind: 'broker-server', url: broker.amqpUrl }];
}

/**
 * Runs `scenario` against every target at once and asserts broker-server's record deep-equals
 * RabbitMQ's. `expect`, when given, is matched (tap's `match`) against RabbitMQ's record first: it
 * says what the scenario is about, and keeps two equally empty records from passing unnoticed.
 */
export function diff(t: Test, targets: readonly Target[], name: string, scenario: Scenario, expect?: unknown): void {
  t.test(name, async (t) => {
    const started = Date.now();
    const records = await Promise.all(targets.map((target) => runOn(target, scenario)));
    const [rabbit, ours] = records.map((r) => normalise(r, started));
    if (expect !== undefined) t.match(rabbit, expect, 'RabbitMQ observed what the scenario is about');
    t.strictSame(ours, rabbit, 'broker-server: what amqplib observed is what it observed on RabbitMQ');
  });
}

async function runOn(target: Target, scenario: Scenario): Promise<unknown> {
  const conns: Conn[] = [];
  const ctx: DiffContext = {
    open: async () => {
      const conn = await amqp.connect(target.url) as Conn;
      conn.errors = [];
      conn.on('error', (err: Error) => conn.errors.push(err));
      conns.push(conn);
      return conn;
    },
  };
  try {
    // JSON: what the record says, without undefined fields or class instances.
    return JSON.parse(JSON.stringify(await scenario(ctx))) as unknown;
  } catch (err) {
    (err as Error).message = `on ${target.kind}: ${(err as Error).message}`;
    throw err;
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  }
}

const GENERATED = /^amq\.(gen|ctag)-[A-Za-z0-9_-]{22}$/;

const INEQUIVALENT = /^PRECONDITION_FAILED - inequivalent arg /;

function normalise(value: unknown, since: number): unknown {
  if (typeof value === 'string') {
    if (GENERATED.test(value)) return value.replace(/-.*$/, '-*');
    return INEQUIVALENT.test(value) ? value.replace(/ of type '[a-z]+'/g, '') : value;
  }
  if (Array.isArray(value)) return value.map((v) => normalise(v, since));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === 'x-death' && Array.isArray(v) ? v.map((d) => normaliseDeath(d, since)) : normalise(v, since);
  }
  return out;
}

/** An x-death entry's `time`: a timestamp (seconds) between the scenario's start and now, else left for the diff to show. */
function normaliseDeath(entry: unknown, since: number): unknown {
  const n = normalise(entry, since) as Record<string, unknown>;
  const time = n['time'] as { '!'?: string; value?: number } | undefined;
  const seconds = time?.value;
  if (time?.['!'] === 'timestamp' && typeof seconds === 'number' && seconds >= Math.floor(since / 1000) - 1 && seconds <= Date.now() / 1000 + 1) {
    n['time'] = '<time>';
  }
  return n;
}

/** A channel whose errors are kept. */
export async function channel(conn: Conn): Promise<Ch> {
  return keep(await conn.createChannel());
}

/** A confirm channel whose errors are kept. */
export async function confirmChannel(conn: Conn): Promise<ConfirmCh> {
  return keep(await conn.createConfirmChannel());
}

function keep<C extends Channel>(ch: C): C & { errors: Error[] } {
  const kept = ch as C & { errors: Error[] };
  kept.errors = [];
  kept.on('error', (err: Error) => kept.errors.push(err));
  return kept;
}

/** How the server closed a channel or connection, as amqplib reports it. */
export interface ClosedRecord {
  code: number | undefined;
  classId: number | undefined;
  methodId: number | undefined;
  /** The server's reply text. */
  text: string;
}

/** An amqplib close error as a record: code, class and method ids, the server's reply text. */
export function closeRecord(err: Error & { code?: number; classId?: number; methodId?: number }): ClosedRecord {
  // amqplib: `Channel closed by server: 404 (NOT-FOUND) with message "NOT_FOUND - no queue ..."`.
  const text = /with message "(.*)"$/s.exec(err.message)?.[1] ?? err.message;
  return { code: err.code, classId: err.classId, methodId: err.methodId, text };
}

/**
 * Runs `act` on a fresh channel of `conn` that the server is expected to close, and records how
 * it closed; `{ closed: false }` if it was still open after `act` and a round trip.
 */
export async function onFreshChannel(conn: Conn, act: (ch: Ch) => Promise<unknown>): Promise<ClosedRecord | { closed: false }> {
  const ch = await channel(conn);
  let closed = false;
  ch.once('close', () => { closed = true; });
  await act(ch).catch(() => undefined);
  // A publish has no reply: a round trip after it shows whether the channel was closed for it.
  if (!closed) await ch.checkExchange('amq.direct').catch(() => undefined);
  if (ch.errors.length === 0) {
    await ch.close();
    return { closed: false };
  }
  await until(() => closed, WAIT_MS, 'the channel to close');
  return closeRecord(ch.errors.at(-1)!);
}

/** A delivered or got message as a record: body, the routing fields, and the properties that were set. */
export function messageRecord(m: Message | GetMessage): Record<string, unknown> {
  const { deliveryTag, redelivered, exchange, routingKey } = m.fields;
  const messageCount = (m.fields as { messageCount?: number }).messageCount;
  const properties = Object.fromEntries(Object.entries(m.properties).filter(([, v]) => v !== undefined));
  return { body: m.content.toString(), fields: { deliveryTag, redelivered, exchange, routingKey, messageCount }, properties };
}

/** Every message `basic.get` hands out from `queue` (acked unless `ack` false), until get-empty. */
export async function drain(ch: Channel, queue: string, limit = 1_000): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < limit; i++) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(messageRecord(m));
  }
  throw new Error(`more than ${limit} messages in '${queue}'`);
}

/** The bodies `basic.get` hands out from `queue`, in order, until get-empty. */
export async function bodies(ch: Channel, queue: string): Promise<string[]> {
  return (await drain(ch, queue)).map((m) => m['body'] as string);
}

/** Publishes on a confirm channel and resolves once every publish so far is confirmed (acked). */
export async function confirmed(ch: ConfirmChannel, publish: () => void): Promise<void> {
  publish();
  await ch.waitForConfirms();
}

/** Waits until `count()` reaches `n` (rejects after WAIT_MS), then gives more deliveries a moment to show. */
export async function settleAt(count: () => number, n: number, what: string): Promise<number> {
  await until(() => count() >= n, WAIT_MS, what);
  // A negative check: a server that over-delivers does so within this pause.
  await sleep(150);
  return count();
}
