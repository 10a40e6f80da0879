// taskQueues' queue arguments reach a real RabbitMQ as declared, and tasks run there: a task queue
// declared as a quorum queue (`x-queue-type: quorum`, a one-node quorum) runs tasks, and one with
// `x-max-priority` gives a worker the higher priorities first. The same x-argument on broker-server
// is refused with a coded error, not dropped. A worker whose queue another client deletes (RabbitMQ
// cancels its consumer) declares the queue again and goes on consuming. The app here pairs the AMQP
// transport with broker-server's result backend by hand (pairLink), as openBackends pairs it with Redis.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { connect as amqpConnect } from 'amqplib';
import { Celeriac, connect, type SettingsInput } from '../../client/index.js';
import { BrokerServerResults } from '../../client/result-backend/broker-server.js';
import { pairLink } from '../../client/result-backend/link.js';
import type { TaskLink } from '../../client/result-backend/result-backend.js';
import { openAmqpTransport } from '../../client/transport/amqp/transport.js';
import { startTestBroker } from '../helpers/broker.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { until } from '../helpers/wait.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

const rabbit = await startRabbit(t);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);
const results = await startTestBroker(t);

/** An app whose task messages go through RabbitMQ, its results through broker-server. */
class RabbitApp extends Celeriac {
  #producer: Promise<TaskLink> | undefined;

  override link(): Promise<TaskLink> {
    this.#producer ??= this.openLink('producer');
    return this.#producer;
  }

  override async openLink(role: string): Promise<TaskLink> {
    const conn = await connect(results.url, { reconnect: false, clientName: `results-${role}` });
    const transport = await openAmqpTransport(rabbit.url, { reconnect: false, clientName: `tasks-${role}` });
    return pairLink(transport, new BrokerServerResults(conn), {
      close: async () => {
        await transport.close();
        await conn.close();
      },
    });
  }

  override async close(): Promise<void> {
    const p = this.#producer;
    this.#producer = undefined;
    if (p !== undefined) await (await p).close();
    await super.close();
  }
}

function rabbitApp(settings: SettingsInput): RabbitApp {
  const app = new RabbitApp({ broker: results.url, ...settings });
  t.teardown(() => app.close());
  return app;
}

/** RabbitMQ's listing of `queue`: its type and arguments (one rabbitmqctl run: seconds on a busy machine). */
async function listed(queue: string): Promise<string> {
  const out = await rabbit.ctl(['list_queues', '--quiet', '--no-table-headers', 'name', 'type', 'arguments']);
  return new RegExp(`^${queue}\\s+(.*)$`, 'm').exec(out)?.[1]?.trim() ?? '(not listed)';
}

t.test('a task queue declared with x-queue-type quorum is a quorum queue on RabbitMQ, and its tasks run', async (t) => {
  const queue = unique('quorum-tasks');
  const app = rabbitApp({ taskDefaultQueue: queue, taskQueues: [{ name: queue, arguments: { 'x-queue-type': 'quorum' } }] });
  const double = app.task(unique('tasks.double'), (x: number) => 2 * x);
  const worker = app.worker({ queues: [queue], log: () => undefined });
  t.teardown(() => worker.close({ force: true }));
  await worker.start();
  const row = await listed(queue);
  t.match(row, /^quorum\s/, `RabbitMQ lists it as a quorum queue: ${row}`);
  // A quorum queue counts deliveries itself: the delivery limit the app declares is RabbitMQ's too.
  t.match(row, /x-delivery-limit/, 'taskQueueDeliveryLimit declared with it');
  const runs = await Promise.all([1, 2, 3].map((x) => double.delay(x)));
  t.same(await Promise.all(runs.map((r) => r.get({ timeout: 20_000 }))), [2, 4, 6]);
});

t.test('a task queue with x-max-priority gives the worker higher priorities first', async (t) => {
  const queue = unique('prio-tasks');
  const app = rabbitApp({ taskDefaultQueue: queue, taskQueues: [{ name: queue, arguments: { 'x-max-priority': 9 } }] });
  const order: string[] = [];
  const note = app.task(unique('tasks.note'), (what: string) => {
    order.push(what);
    return what;
  });
  // Sent before any worker consumes: RabbitMQ orders them in the queue by priority.
  const sent = [];
  for (const [what, priority] of [['low', 1], ['mid', 5], ['high', 9]] as const) sent.push(await note.applyAsync([what], { priority }));
  const worker = app.worker({ queues: [queue], concurrency: 1, prefetchMultiplier: 1, log: () => undefined });
  t.teardown(() => worker.close({ force: true }));
  await worker.start();
  await Promise.all(sent.map((r) => r.get({ timeout: 20_000 })));
  await until(() => order.length === 3, 5_000, 'three runs');
  t.same(order, ['high', 'mid', 'low'], 'x-max-priority reached RabbitMQ: it ordered them');
});

t.test('a worker whose queue is deleted from outside declares it again and consumes it: the next task runs', async (t) => {
  const queue = unique('deleted-tasks');
  const app = rabbitApp({ taskDefaultQueue: queue });
  const echo = app.task(unique('tasks.echo'), (x: string) => x);
  const lines: string[] = [];
  const worker = app.worker({ queues: [queue], log: (level, message) => { lines.push(`${level}: ${message}`); } });
  t.teardown(() => worker.close({ force: true }));
  await worker.start();
  t.equal(await (await echo.delay('before')).get({ timeout: 20_000 }), 'before');

  // Deleted by another client (as `rabbitmqctl delete_queue` does): RabbitMQ sends the worker's
  // consumer basic.cancel and drops the queue's binding to the app's exchange.
  const admin = await amqpConnect(rabbit.url);
  await (await admin.createChannel()).deleteQueue(queue);
  await admin.close();
  await until(() => lines.some((l) => l.includes(`consuming queue '${queue}' again`)), 20_000, `the worker to consume again; its log:\n${lines.join('\n')}`);
  t.ok(lines.some((l) => /^error: the broker cancelled the consumer/.test(l)), 'the cancel is logged as an error');
  t.equal(await (await echo.delay('after')).get({ timeout: 20_000 }), 'after', 'a task sent after the delete runs');
});

t.test('broker-server refuses a RabbitMQ-only queue argument with a coded error instead of dropping it', async (t) => {
  const queue = unique('quorum-on-broker-server');
  const app = new Celeriac({ broker: results.url, taskDefaultQueue: queue, taskQueues: [{ name: queue, arguments: { 'x-queue-type': 'quorum' } }] });
  t.teardown(() => app.close());
  const task = app.task(unique('tasks.never'), () => 1);
  await t.rejects(task.delay(), { code: 'ERR_INVALID_ARGUMENT', message: /'x-queue-type' is not supported by broker-server/ });
});
