// The dispatcher's rules without sockets: hello first, unknown opcodes refused, request errors
// answered and the batch goes on, connection errors stop it, a non-coded throw becomes ERR_INTERNAL.
import t from 'tap';
import { dispatchFrame, type DispatchTarget } from '../../server/session/dispatcher.js';
import type { HandlerContext } from '../../server/session/context.js';
import type { EngineApi, EngineConnection } from '../../server/engine/types.js';
import { CeleriacError, fail } from '../../shared/errors.js';
import type { Frame } from '../../shared/frames.js';
import { DEFAULT_LIMITS } from '../../shared/limits.js';
import { OP, PROTOCOL_VERSION } from '../../shared/opcodes.js';

/** A target whose engine does what `engine` says; records what the dispatcher asked for. */
function target(engine: Partial<EngineApi>, phase: DispatchTarget['phase'] = 'open') {
  const calls: string[] = [];
  const failures: { id: number; code: string; cause?: unknown }[] = [];
  const logs: string[] = [];
  const tgt = {
    phase,
    hello: () => { calls.push('hello'); tgt.phase = 'authenticating'; },
    failed: (id: number, err: CeleriacError) => {
      failures.push({ id, code: err.code, cause: err.cause });
      if (err.scope === 'connection') tgt.phase = 'closing';
    },
    context: {
      engine: engine as EngineApi,
      conn: { info: { id: 'c1', vhost: '/', user: 'u', client: '', peer: '' } } as EngineConnection,
      limits: DEFAULT_LIMITS,
      reply: (id: number) => calls.push(`ok ${id}`),
      replyResults: (id: number) => calls.push(`ok ${id}`),
      confirm: (id: number) => calls.push(`confirm ${id}`),
      requestFailed: () => undefined,
      markPublisher: () => undefined,
      inProgress: (answer) => answer,
      resultWaiting: (answer) => answer,
      resultWaitingIfRoom: (answer) => answer,
      closeByPeer: () => undefined,
      log: (_level: string, msg: string) => logs.push(msg),
    } satisfies HandlerContext,
  } as DispatchTarget & { phase: DispatchTarget['phase'] };
  return { tgt, calls, failures, logs };
}

/** The frames of one message, in order, as the session's inbox hands them over. */
function dispatch(tgt: DispatchTarget, frames: Frame[]): void {
  for (const f of frames) dispatchFrame(tgt, f);
}

const declare = (id: number, name: string): Frame => ({ op: OP.declareQueue, id, name, options: {} });

t.test('before the handshake only hello is taken, and only one', async (t) => {
  const { tgt, calls, failures } = target({}, 'handshake');
  dispatch(tgt, [{ op: OP.hello, id: 1, version: PROTOCOL_VERSION }, declare(2, 'q')]);
  t.same(calls, ['hello']);
  t.same(failures, [{ id: 2, code: 'ERR_HANDSHAKE_REQUIRED', cause: undefined }]);
});

t.test('request errors answer their id; the batch goes on', async (t) => {
  const { tgt, calls, failures } = target({
    declareQueue: (_c, name) => {
      if (name === 'bad') throw fail('ERR_PRECONDITION_FAILED', 'nope');
      return { queue: name, messageCount: 0, consumerCount: 0 };
    },
  });
  dispatch(tgt, [declare(1, 'a'), declare(2, 'bad'), declare(3, 'c')]);
  t.same(calls, ['ok 1', 'ok 3']);
  t.same(failures.map((f) => [f.id, f.code]), [[2, 'ERR_PRECONDITION_FAILED']]);
});

t.test('a connection error stops the rest of the batch', async (t) => {
  const { tgt, calls, failures } = target({
    ack: () => { throw fail('ERR_UNKNOWN_DELIVERY_TAG', 'no tag 9'); },
    declareQueue: (_c, name) => ({ queue: name, messageCount: 0, consumerCount: 0 }),
  });
  dispatch(tgt, [{ op: OP.ack, tag: 9 }, declare(2, 'never')]);
  t.same(calls, []);
  t.same(failures.map((f) => f.code), ['ERR_UNKNOWN_DELIVERY_TAG']);
});

t.test('an opcode without a handler is ERR_UNKNOWN_OPCODE', async (t) => {
  const { tgt, failures } = target({});
  dispatch(tgt, [{ op: OP.deliver, consumerTag: 'x', deliveryTag: 1, redelivered: false, deliveryCount: 1, exchange: '', routingKey: '', body: new Uint8Array() }]);
  t.same(failures.map((f) => f.code), ['ERR_UNKNOWN_OPCODE']);
});

t.test('a plain exception becomes ERR_INTERNAL, logged, with the cause kept', async (t) => {
  const bug = new TypeError('undefined is not a function');
  const { tgt, failures, logs } = target({ purgeQueue: () => { throw bug; } });
  dispatch(tgt, [{ op: OP.purgeQueue, id: 4, name: 'q' }]);
  t.equal(failures.length, 1);
  t.equal(failures[0]!.code, 'ERR_INTERNAL');
  t.equal(failures[0]!.id, 4);
  t.equal(failures[0]!.cause, bug);
  t.match(logs[0], /undefined is not a function/);
  t.equal(new CeleriacError('ERR_INTERNAL', 'x').scope, 'connection', 'and it closes the connection');
});
