// A running worker's control mailbox: an exclusive queue bound to the control fanout exchange,
// whose commands are dispatched to COMMANDS and answered on the reply exchange.
import type { Delivery } from '../transport/transport.js';
import type { Worker } from '../worker/worker.js';
import { COMMANDS, type ControlState } from './commands.js';
import { COMMAND_TTL_MS, CONTROL_EXCHANGE, REPLY_EXCHANGE, controlQueueName, encodeJson, parseCommand, type ControlCommand } from './protocol.js';

/**
 * Starts answering control commands on `worker`'s connection. Resolves with a detach function
 * (stops consuming; the exclusive queue goes with the connection). A control queue already taken
 * (another worker with the same hostname) is logged and the worker runs without control, as Celery does.
 */
export async function attachControl(worker: Worker): Promise<() => Promise<void>> {
  const conn = worker.connection;
  const state: ControlState = { worker, shutdownRequested: false };
  await conn.assertExchange(CONTROL_EXCHANGE, 'fanout', { durable: false });
  await conn.assertExchange(REPLY_EXCHANGE, 'direct', { durable: false });
  const queue = controlQueueName(worker.hostname);
  let consumerTag: string;
  try {
    await conn.assertQueue(queue, { exclusive: true, autoDelete: true, messageTtl: COMMAND_TTL_MS });
    await conn.bindQueue(queue, CONTROL_EXCHANGE, '');
    ({ consumerTag } = await conn.consume(queue, (msg) => onCommand(state, msg), { noAck: true }));
  } catch (err) {
    worker.log('warn', `remote control is off for ${worker.hostname}: its control queue '${queue}' could not be taken (${String(err)}); is another worker using this hostname?`);
    return async () => undefined;
  }
  return async () => {
    await conn.cancel(consumerTag).catch(() => undefined);
  };
}

async function onCommand(state: ControlState, msg: Delivery): Promise<void> {
  const { worker } = state;
  let cmd: ControlCommand;
  try {
    cmd = parseCommand(msg.body);
  } catch (err) {
    worker.log('warn', `ignored a malformed control command: ${String(err)}`);
    return;
  }
  if (cmd.destination !== null && !cmd.destination.includes(worker.hostname)) return;
  const handler = COMMANDS.get(cmd.method);
  let reply: unknown;
  if (handler === undefined) reply = { error: 'No such method' };
  else {
    try {
      reply = await handler(state, cmd.arguments);
    } catch (err) {
      worker.log('error', `control command ${cmd.method} failed: ${String(err)}`);
      reply = { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
  }
  if (cmd.reply_to !== null) {
    const to = cmd.reply_to;
    let body: Buffer;
    try {
      body = encodeJson({ [worker.hostname]: reply });
    } catch (err) {
      body = encodeJson({ [worker.hostname]: { error: `the reply could not be encoded: ${String(err)}` } });
    }
    worker.connection.publish(to.exchange, to.routing_key, body, {
      contentType: 'application/json', headers: { ticket: cmd.ticket },
    }).catch((err: unknown) => worker.log('warn', `could not reply to control command ${cmd.method}: ${String(err)}`));
  }
  if (state.shutdownRequested) {
    state.shutdownRequested = false;
    // Out of this handler: close() cancels the consumer that called us.
    setImmediate(() => void worker.close().catch((err: unknown) => worker.log('error', `remote shutdown failed: ${String(err)}`)));
  }
}
