// Heartbeats over real sockets with a short interval: an idle server sends them, a silent peer is
// closed with ERR_HEARTBEAT_TIMEOUT, and a peer that keeps talking stays open.
import t from 'tap';
import type { ErrorFrame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

t.test('a silent peer is closed after two intervals; a talking one stays', async (t) => {
  const broker = await startTestBroker(t, { limits: { heartbeat: 200 } });
  const talker = await RawClient.connect(broker.url);
  t.teardown(() => talker.close());
  // start talking at once: the silent peer's login takes a while on a busy machine
  const beat = setInterval(() => talker.send({ op: OP.heartbeat }), 40);
  t.teardown(() => clearInterval(beat));
  const silent = await RawClient.connect(broker.url);
  t.teardown(() => silent.close());

  await silent.next((f) => f.op === OP.heartbeat, 2_000);
  t.pass('the server sends heartbeats on an idle connection');
  const err = (await silent.next((f) => f.op === OP.error, 3_000)) as ErrorFrame;
  t.equal(err.code, 'ERR_HEARTBEAT_TIMEOUT');
  t.equal((await silent.waitClose()).code, 1001);

  await new Promise((r) => setTimeout(r, 500)); // negative check: over two heartbeats more, no close
  t.equal(talker.closed, null, 'the peer that sends heartbeats is still open');
  await talker.ok({ op: OP.declareQueue, id: talker.id(), name: `hb-${Date.now()}`, options: {} });
});
