// The AMQP 0-9-1 codec on the frames every message costs, against amqplib's codec doing the same
// work: decoding Celery-shaped publishes (method + header + body, in 64 KB socket-sized chunks) and
// acks, and encoding deliveries. One process, no sockets: codec CPU only. Prints figures, never pass/fail.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { celeriacBuilt, fmt, isMain, parseArgs, ratio, table } from './harness.js';

const require = createRequire(import.meta.url);

/** A task message as Celery (protocol 2, JSON) publishes it through py-amqp. */
function celeryMessage() {
  const id = randomUUID();
  return {
    exchange: '', routingKey: 'celery',
    properties: {
      contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2, priority: 0, correlationId: id, replyTo: randomUUID(),
      headers: {
        lang: 'py', task: 'tasks.add', id, shadow: null, eta: null, expires: null, group: null, group_index: null, retries: 0,
        timelimit: [null, null], root_id: id, parent_id: null, argsrepr: '(2, 3)', kwargsrepr: '{}', origin: 'gen4242@worker-host', ignore_result: false,
      },
    },
    body: Buffer.from(JSON.stringify([[2, 3], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]).padEnd(200)),
  };
}

/** Runs `fn` (which does `n` operations) until `ms` have passed, `repeat` times; the best ops/s. */
function opsPerSec(fn, n, ms, repeat) {
  let best = 0;
  for (let r = 0; r < repeat; r++) {
    let ops = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) { fn(); ops += n; }
    best = Math.max(best, ops / ((performance.now() - t0) / 1000));
  }
  return best;
}

/** 64 KB chunks of a byte stream, as a socket hands them over (frames cut at any byte). */
function chunks(stream, size = 64 * 1024) {
  const out = [];
  for (let at = 0; at < stream.length; at += size) out.push(stream.subarray(at, at + size));
  return out;
}

export async function run(opts = parseArgs()) {
  const codec = await import('../dist/server/amqp/codec/index.js');
  const defs = require('amqplib/lib/defs');
  const amqpFrame = require('amqplib/lib/frame');
  const { ByteWriter, ContentAssembler, FieldTable, decodeFrames, writeDeliver, writeContent, writeMethodFrame } = codec;
  const N = opts.quick ? 2_000 : 10_000;
  const ms = opts.quick ? 300 : 1_000;
  const repeat = opts.repeat ?? (opts.quick ? 1 : 3);
  const msg = celeryMessage();
  const props = { ...msg.properties, headers: FieldTable.fromObject(msg.properties.headers) };

  // The publish stream: N publishes on channel 1, as a client writes them.
  const w = new ByteWriter();
  for (let i = 0; i < N; i++) {
    writeMethodFrame(w, 1, { name: 'basic.publish', exchange: msg.exchange, routingKey: msg.routingKey });
    writeContent(w, 1, props, msg.body, 131072);
  }
  const publishes = chunks(Buffer.from(w.take()));
  for (let i = 0; i < N; i++) writeMethodFrame(w, 1, { name: 'basic.ack', deliveryTag: i + 1, multiple: false });
  const acks = chunks(Buffer.from(w.take()));

  const oursDecode = (input) => () => {
    const asm = new ContentAssembler(1 << 27);
    let pending = Buffer.alloc(0);
    let commands = 0;
    for (const chunk of input) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const res = decodeFrames(pending, { frameMax: 131072 });
      if (res.error) throw res.error;
      for (const f of res.frames) if (f.type !== 'heartbeat' && asm.push(f) !== undefined) commands++;
      pending = pending.subarray(res.consumed);
    }
    if (commands !== N) throw new Error(`decoded ${commands} commands, not ${N}`);
  };
  const amqplibDecode = (input, perCommand) => () => {
    let rest = Buffer.alloc(0);
    let frames = 0;
    for (const chunk of input) {
      rest = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
      for (let f = amqpFrame.parseFrame(rest); f; f = amqpFrame.parseFrame(rest)) {
        amqpFrame.decodeFrame(f);
        frames++;
        rest = f.rest;
      }
    }
    if (frames !== N * perCommand) throw new Error(`amqplib decoded ${frames} frames`);
  };

  // Deliveries: ours forwarding the publisher's raw properties, ours from a properties object, amqplib.
  const rawProps = (() => {
    const res = decodeFrames(Buffer.concat(publishes.slice(0, 1)), { frameMax: 131072 });
    return res.frames[1].propertiesRaw;
  })();
  const out = new ByteWriter();
  const oursDeliver = (p) => () => {
    for (let i = 0; i < N; i++) {
      writeDeliver(out, 1, 'amq.ctag-1', i + 1, false, msg.exchange, msg.routingKey, p, msg.body, 131072);
      if (out.length > 60_000) out.take();
    }
    out.take();
  };
  const plainProps = msg.properties;
  const amqplibDeliver = () => {
    for (let i = 0; i < N; i++) {
      defs.encodeMethod(defs.BasicDeliver, 1, { consumerTag: 'amq.ctag-1', deliveryTag: i + 1, redelivered: false, exchange: msg.exchange, routingKey: msg.routingKey });
      defs.encodeProperties(defs.BasicProperties, 1, msg.body.length, plainProps);
      amqpFrame.makeBodyFrame(1, msg.body);
    }
  };

  const rows = [
    ['decode publishes (method + header + body)', opsPerSec(oursDecode(publishes), N, ms, repeat), opsPerSec(amqplibDecode(publishes, 3), N, ms, repeat)],
    ['decode basic.ack', opsPerSec(oursDecode(acks), N, ms, repeat), opsPerSec(amqplibDecode(acks, 1), N, ms, repeat)],
    ['encode deliveries (raw properties forwarded)', opsPerSec(oursDeliver(rawProps), N, ms, repeat), opsPerSec(amqplibDeliver, N, ms, repeat)],
    ['encode deliveries (properties object)', opsPerSec(oursDeliver(props), N, ms, repeat), undefined],
  ];
  if (opts.json) {
    console.log(JSON.stringify(rows.map(([what, ours, theirs]) => ({ what, celeriac: Math.round(ours), amqplib: theirs && Math.round(theirs) }))));
    return rows;
  }
  console.log(`AMQP 0-9-1 codec, messages per second on one core (${msg.body.length}-byte body, Celery headers; best of ${repeat})`);
  console.log(table(['work', 'celeriac codec', 'amqplib codec', 'ratio'], rows.map(([what, ours, theirs]) => [what, fmt(ours), theirs === undefined ? '—' : fmt(theirs), theirs === undefined ? '—' : ratio(ours, theirs)])));
  return rows;
}

if (isMain(import.meta.url)) {
  if (!celeriacBuilt()) {
    console.error('amqp-codec: build first (npm run build)');
    process.exit(1);
  }
  await run();
}
