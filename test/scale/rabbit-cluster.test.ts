// The three-node RabbitMQ cluster helper, for issue 11's scale bench: three nodes on this machine
// form one cluster; a quorum queue declared through one node keeps a confirmed message while another
// node is stopped, serves it from a third, and the stopped node rejoins when started again.
// Not in `npm test` (package.json's tap `exclude` has test/scale/): three RabbitMQ boots, the joins
// and a restart take 60 s or more on a busy 2-core machine, past a test file's 45 s. Run it alone:
// `npx tap test/scale/rabbit-cluster.test.ts`. Issue 11's scale bench is bench/rabbit-cluster.js (its
// cluster starter, bench/rabbitmq-cluster.js, is this helper's plain-JS twin).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { connect as amqpConnect } from 'amqplib';
import { startRabbitCluster, type RabbitNode } from '../helpers/rabbitmq.js';

interface ClusterStatus { running_nodes: string[]; disk_nodes: string[] }

async function clusterStatus(node: RabbitNode): Promise<ClusterStatus> {
  return JSON.parse(await node.ctl(['cluster_status', '--formatter', 'json'])) as ClusterStatus;
}

const started = Date.now();
const cluster = await startRabbitCluster(t, 3);
t.comment(`3-node cluster up in ${Date.now() - started} ms; node boots: ${cluster.nodes.map((n) => n.bootMs()).join(', ')} ms`);

t.test('three nodes, one cluster; a quorum queue survives a stopped node', async (t) => {
  const [n1, n2, n3] = cluster.nodes as [RabbitNode, RabbitNode, RabbitNode];
  const names = cluster.nodes.map((n) => n.nodeName).sort();
  t.same((await clusterStatus(n1)).running_nodes.sort(), names, 'every node runs in one cluster');

  const queue = `cluster-q-${randomBytes(4).toString('hex')}`;
  const conn = await amqpConnect(n1.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  ch.sendToQueue(queue, Buffer.from('kept'), { persistent: true });
  await ch.waitForConfirms();
  await conn.close();

  let at = Date.now();
  await cluster.stopNode(1);
  t.comment(`node 2 stopped in ${Date.now() - at} ms`);
  const other = await amqpConnect(n3.url);
  const och = await other.createChannel();
  const msg = await och.get(queue, { noAck: true });
  t.equal(msg === false ? undefined : msg.content.toString(), 'kept', 'the message is served by node 3 while node 2 is down');
  await other.close();

  at = Date.now();
  await cluster.startNode(1);
  t.comment(`node 2 restarted in ${Date.now() - at} ms`);
  t.same((await clusterStatus(n2)).running_nodes.sort(), names, 'node 2 is back in the cluster');
});
