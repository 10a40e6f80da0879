// One small interface over the two clients measured (celeriac's connect() and amqplib), so
// each workload is written once and runs the same way against every broker: celeriac's
// WebSocket port ('celeriac'), broker-server's AMQP port through amqplib ('celeriac-amqp') and
// RabbitMQ through amqplib ('rabbitmq').
//
// An adapter is one connection: declare(queue, {durable}), publish(queue, body, {persistent})
// → Promise settled by the broker's confirm, consume(queue, {prefetch}, onMessage(body, ack)),
// remove(queue), close(). Messages go through the default exchange "" (routed by queue name).
import { ROOT } from './harness.js';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Opens a celeriac connection (the built client in dist/). */
export async function openCeleriac(url) {
  const { connect } = await import(pathToFileURL(join(ROOT, 'dist/client/index.js')).href);
  const conn = await connect(url);
  return {
    name: 'celeriac',
    async declare(queue, { durable }) {
      await conn.assertQueue(queue, { durable });
    },
    publish(queue, body, { persistent }) {
      return conn.publish('', queue, body, { persistent });
    },
    async consume(queue, { prefetch }, onMessage) {
      await conn.consume(queue, async (msg) => { onMessage(msg.body, () => msg.ack()); }, { prefetch });
    },
    async remove(queue) {
      await conn.deleteQueue(queue);
    },
    close: () => conn.close(),
  };
}

/**
 * Opens an amqplib connection with a confirm channel for publishing (each publish settles on
 * the broker's basic.ack, as celeriac's does) and a plain channel for consuming. The same code
 * for RabbitMQ and for broker-server's AMQP listener; `name` only labels it.
 */
export async function openAmqp(url, name = 'rabbitmq') {
  const amqp = (await import('amqplib')).default;
  const conn = await amqp.connect(url);
  conn.on('error', () => { /* surfaced through the pending promises */ });
  let pubChannel, subChannel;
  const pub = async () => (pubChannel ??= await conn.createConfirmChannel());
  const sub = async () => (subChannel ??= await conn.createChannel());
  await pub();
  return {
    name,
    async declare(queue, { durable }) {
      await pubChannel.assertQueue(queue, { durable });
    },
    publish(queue, body, { persistent }) {
      return new Promise((resolve, reject) => {
        pubChannel.sendToQueue(queue, body, { persistent }, (err) => (err ? reject(err) : resolve()));
      });
    },
    async consume(queue, { prefetch }, onMessage) {
      const ch = await sub();
      await ch.prefetch(prefetch);
      await ch.consume(queue, (msg) => { if (msg) onMessage(msg.content, () => ch.ack(msg)); }, { noAck: false });
    },
    async remove(queue) {
      await pubChannel.deleteQueue(queue);
    },
    close: () => conn.close(),
  };
}

/** Opens an adapter for `kind` ('celeriac' | 'celeriac-amqp' | 'rabbitmq'); the last two are amqplib. */
export const openAdapter = (kind, url) => (kind === 'celeriac' ? openCeleriac(url) : openAmqp(url, kind));

/**
 * Publishes `count` messages to `queue` keeping at most `window` unconfirmed, and resolves when
 * the last is confirmed. `bodyFor(i)` makes each body (one shared buffer for throughput runs).
 */
export function publishWindowed(adapter, queue, { count, window, persistent, bodyFor }) {
  return new Promise((resolve, reject) => {
    let sent = 0, confirmed = 0, failed = false;
    const onConfirm = () => {
      confirmed++;
      if (confirmed === count) resolve();
      else pump();
    };
    const onError = (err) => { if (!failed) { failed = true; reject(err); } };
    const pump = () => {
      while (!failed && sent < count && sent - confirmed < window) {
        const i = sent++;
        adapter.publish(queue, bodyFor(i), { persistent }).then(onConfirm, onError);
      }
    };
    if (count === 0) resolve();
    else pump();
  });
}
