// Properties travel as the bytes their publisher encoded: the broker stores and delivers a
// publish's props map without encoding it again, so what a consumer gets is byte for byte what was
// sent (here a priority written as a uint16 with its keys in an order an encoder would not pick).
import { randomUUID } from 'node:crypto';
import t from 'tap';
import type { DeliverFrame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const hexOf = (text: string): string => Buffer.from(text).toString('hex');
const str = (text: string): string => (0xa0 | text.length).toString(16) + hexOf(text);

t.test('a publish\'s props reach the consumer as the bytes the publisher sent', async (t) => {
  const broker = await startTestBroker(t);
  const c = await RawClient.connect(broker.url);
  t.teardown(() => c.close());
  const queue = `props-bytes-${randomUUID().slice(0, 8)}`;
  await c.ok({ op: OP.declareQueue, id: c.id(), name: queue, options: { durable: true } });
  // {persistent: true, priority: 3 as uint16 (cd0003), headers: {x: 1}}
  const props = '83' + str('persistent') + 'c3' + str('priority') + 'cd0003' + str('headers') + '81' + str('x') + '01';
  const publish = '96' + '14' + '07' + 'a0' + str(queue) + 'c4026869' + props;
  c.sendRaw(Buffer.from(publish, 'hex'));
  const confirm = await c.next((f) => f.op === OP.confirm);
  t.same(confirm, { op: OP.confirm, ids: [7] }, 'the publish was taken and committed');

  const raw: Buffer[] = [];
  c.ws.on('message', (data: Buffer) => raw.push(data));
  await c.ok({ op: OP.consume, id: c.id(), queue, options: { noAck: true } });
  const d = (await c.next((f) => f.op === OP.deliver)) as DeliverFrame;
  t.same(d.props, { persistent: true, priority: 3, headers: { x: 1 } }, 'the consumer decodes the same props');
  t.ok(raw.some((m) => m.toString('hex').includes(props)), 'and the deliver frame holds the publisher\'s bytes unchanged');
});
