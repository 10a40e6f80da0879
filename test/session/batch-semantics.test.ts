// A batch means what docs/protocol.md says: its frames are handled as if each had come in its own
// message. [declare, publish, <malformed>] applies the declare and the publish, then the malformed
// frame ends the connection: the same as three messages, whatever makes the third frame malformed.
import { randomUUID } from 'node:crypto';
import { Encoder } from '@msgpack/msgpack';
import t from 'tap';
import { FrameCodec } from '../../shared/codec.js';
import type { ErrorFrame, Frame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const codec = new FrameCodec();
const raw = new Encoder();
const uniq = (tag: string): string => `${tag}-${randomUUID().slice(0, 8)}`;

/** Ways a frame can be malformed, as the bytes of that frame alone. */
const MALFORMED: Record<string, { bytes: Uint8Array; code: string }> = {
  'a field of the wrong kind': { bytes: raw.encode([OP.publish, 'not an id', '', 'q', new Uint8Array(1)]), code: 'ERR_MALFORMED_FRAME' },
  'an unknown opcode': { bytes: raw.encode([99, 1]), code: 'ERR_UNKNOWN_OPCODE' },
  'bytes that are not msgpack': { bytes: Uint8Array.of(0xc1), code: 'ERR_MALFORMED_FRAME' },
  'a frame that is not an array': { bytes: raw.encode('hello'), code: 'ERR_MALFORMED_FRAME' },
};

/** One message holding `frames` (each already encoded) as a batch: an array header, then the frames' bytes. */
function batchOf(frames: Uint8Array[]): Uint8Array {
  if (frames.length > 15) throw new Error('fixarray only');
  return Buffer.concat([Uint8Array.of(0x90 | frames.length), ...frames]);
}

/** Sends declare + publish + `bad` in the given shape; returns the error that ended the connection. */
async function run(url: string, queue: string, bad: Uint8Array, shape: 'batch' | 'messages'): Promise<ErrorFrame> {
  const c = await RawClient.connect(url);
  const good: Frame[] = [
    { op: OP.declareQueue, id: 10, name: queue, options: { durable: true } },
    { op: OP.publish, id: 11, exchange: '', routingKey: queue, body: new Uint8Array([42]), props: { persistent: true } },
  ];
  const parts = [...good.map((f) => codec.encode(f)), bad];
  if (shape === 'batch') c.sendRaw(batchOf(parts));
  else for (const p of parts) c.sendRaw(p);
  const err = (await c.next((f) => f.op === OP.error)) as ErrorFrame;
  await c.waitClose();
  return err;
}

async function queueState(url: string, queue: string): Promise<number | string> {
  const c = await RawClient.connect(url);
  try {
    const reply = await c.request({ op: OP.declareQueue, id: 1, name: queue, options: { passive: true } });
    return reply.op === OP.error ? reply.code : (reply.result as { messageCount: number }).messageCount;
  } finally {
    c.close();
  }
}

for (const [what, { bytes, code }] of Object.entries(MALFORMED)) {
  t.test(`[declare, publish, ${what}]: one batch applies what three messages do`, async (t) => {
    const broker = await startTestBroker(t);
    const results: Record<string, unknown> = {};
    for (const shape of ['messages', 'batch'] as const) {
      const queue = uniq(shape);
      const err = await run(broker.url, queue, bytes, shape);
      results[shape] = { code: err.code, messages: await queueState(broker.url, queue) };
    }
    t.same(results['messages'], { code, messages: 1 }, 'three messages: the queue is declared and holds the message, then the error');
    t.same(results['batch'], results['messages'], 'one batch: the same');
  });
}

t.test('[<malformed>, declare, publish]: nothing after the malformed frame applies, in either shape', async (t) => {
  const broker = await startTestBroker(t);
  for (const shape of ['messages', 'batch'] as const) {
    const queue = uniq(shape);
    const c = await RawClient.connect(broker.url);
    const parts = [
      MALFORMED['a field of the wrong kind']!.bytes,
      codec.encode({ op: OP.declareQueue, id: 10, name: queue, options: {} }),
      codec.encode({ op: OP.publish, id: 11, exchange: '', routingKey: queue, body: new Uint8Array([1]) }),
    ];
    if (shape === 'batch') c.sendRaw(batchOf(parts));
    else for (const p of parts) c.sendRaw(p);
    t.equal(((await c.next((f) => f.op === OP.error)) as ErrorFrame).code, 'ERR_MALFORMED_FRAME', `${shape}: refused`);
    await c.waitClose();
    t.equal(await queueState(broker.url, queue), 'ERR_NOT_FOUND', `${shape}: the declare after it never ran`);
  }
});

t.test('a message refused whole waits its turn: the frames of a large batch before it are all handled', async (t) => {
  const broker = await startTestBroker(t);
  const queue = uniq('turn');
  const c = await RawClient.connect(broker.url);
  await c.ok({ op: OP.declareQueue, id: c.id(), name: queue, options: {} });
  const n = 5_000; // many slices' worth: the text message arrives while the batch is being worked through
  c.send(Array.from({ length: n }, (_, i): Frame => ({ op: OP.publish, id: 0, exchange: '', routingKey: queue, body: new Uint8Array([i & 0xff]) })));
  c.ws.send('not binary');
  t.equal(((await c.next((f) => f.op === OP.error)) as ErrorFrame).code, 'ERR_MALFORMED_FRAME', 'the text message is refused');
  await c.waitClose();
  t.equal(await queueState(broker.url, queue), n, 'after every publish sent before it');
});
