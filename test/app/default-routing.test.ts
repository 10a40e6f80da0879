// Celery's derivation of the default exchange, its type and the default routing key from
// taskDefaultQueue; given values win; the stock queue keeps 'tasks' / 'task.default'.
import t from 'tap';
import { fromCeleryConfig } from '../../client/app/celery-config.js';
import { resolveSettings, type SettingsInput } from '../../client/app/settings.js';
import { bindingAccepts, queueFor, routeFor } from '../../client/app/routing.js';
import { seedCeleryConfig } from '../fixtures/seed-config.js';

function defaults(input: SettingsInput): [string, string, string] {
  const s = resolveSettings(input);
  return [s.taskDefaultExchange, s.taskDefaultExchangeType, s.taskDefaultRoutingKey];
}

t.test('the stock queue keeps tasks / topic / task.default, set or not', async (t) => {
  t.strictSame(defaults({}), ['tasks', 'topic', 'task.default']);
  t.strictSame(defaults({ taskDefaultQueue: 'default' }), ['tasks', 'topic', 'task.default']);
  t.strictSame(defaults({ taskDefaultExchange: null, taskDefaultExchangeType: null, taskDefaultRoutingKey: null }), ['tasks', 'topic', 'task.default'], 'null = not given');
});

t.test('another default queue gets a direct exchange and a key named after itself, as in Celery', async (t) => {
  const s = resolveSettings({ taskDefaultQueue: 'q2' });
  t.strictSame([s.taskDefaultExchange, s.taskDefaultExchangeType, s.taskDefaultRoutingKey], ['q2', 'direct', 'q2']);
  t.strictSame(s.taskQueues, [{ name: 'q2', exchange: 'q2', exchangeType: 'direct', routingKey: 'q2', durable: true, autoDelete: false, maxPriority: undefined, arguments: {} }]);
  t.strictSame(routeFor(s, 'any.task'), { exchange: 'q2', routingKey: 'q2', queue: 'q2' });
  t.strictSame(routeFor(s, 'any.task', { queue: 'other' }), { exchange: 'other', routingKey: 'other', queue: 'other' }, 'a missing queue is still created Celery-style');
  t.strictSame(queueFor(resolveSettings({}), 'q2'), s.taskQueues[0], 'another app sending to q2 by name declares exactly what q2\'s own app declares');
});

t.test('two default queues never reach each other: different exchanges, and neither binding takes the other\'s key', async (t) => {
  const a = resolveSettings({ taskDefaultQueue: 'qa' });
  const b = resolveSettings({ taskDefaultQueue: 'qb' });
  const stock = resolveSettings({});
  const binding = (s: typeof a) => s.taskQueues[0]!;
  for (const [x, y] of [[a, b], [a, stock], [stock, b]] as const) {
    const rx = routeFor(x, 't');
    const by = binding(y);
    t.notOk(rx.exchange === by.exchange && bindingAccepts(by.exchangeType, by.routingKey, rx.routingKey), `${rx.queue}'s tasks do not reach ${by.name}`);
  }
});

t.test('given values win over the derivation', async (t) => {
  t.strictSame(defaults({ taskDefaultQueue: 'q2', taskDefaultExchange: 'tasks', taskDefaultRoutingKey: 'task.default', taskQueues: [{ name: 'q2', routingKey: 'task.#' }] }), ['tasks', 'topic', 'task.default']);
  t.strictSame(defaults({ taskDefaultQueue: 'q2', taskDefaultExchange: 'ex' }), ['ex', 'topic', 'q2'], 'a named exchange is topic; the key still derives');
  t.strictSame(defaults({ taskDefaultQueue: 'q2', taskDefaultRoutingKey: 'k.1' }), ['q2', 'direct', 'k.1']);
  t.strictSame(defaults({ taskDefaultQueue: 'q2', taskDefaultExchangeType: 'topic' }), ['q2', 'topic', 'q2']);
  t.strictSame(defaults({ taskDefaultExchange: 'ex', taskDefaultExchangeType: 'fanout', taskDefaultRoutingKey: 'k' }), ['ex', 'fanout', 'k']);
  t.strictSame(defaults({ taskDefaultExchange: '' }), ['', 'topic', 'task.default'], "'' is the nameless exchange, not unset");
});

t.test('taskQueues listing the default queue without exchange or key', async (t) => {
  const s = resolveSettings({ taskQueues: ['q2', { name: 'q3' }], taskDefaultQueue: 'q2' });
  t.strictSame(s.taskQueues.map((q) => [q.name, q.exchange, q.exchangeType, q.routingKey]), [['q2', 'q2', 'direct', 'q2'], ['q3', 'q2', 'direct', 'q3']]);
  t.strictSame(routeFor(s, 't'), { exchange: 'q2', routingKey: 'q2', queue: 'q2' });
  t.strictSame(routeFor(s, 't', { queue: 'q3' }), { exchange: 'q2', routingKey: 'q3', queue: 'q3' });
});

t.test('resolved settings given again resolve the same (useBroker re-resolves them)', async (t) => {
  for (const input of [{}, { taskDefaultQueue: 'q2' }, fromCeleryConfig(seedCeleryConfig())] as SettingsInput[]) {
    const once = resolveSettings(input);
    const twice = resolveSettings({ ...once, resultBackend: null } as SettingsInput);
    t.strictSame(twice, once);
  }
});

t.test("Celery's names: CELERY_DEFAULT_QUEUE alone derives; None means unset; the seed's explicit values hold", async (t) => {
  t.strictSame(defaults(fromCeleryConfig({ CELERY_DEFAULT_QUEUE: 'q2' })), ['q2', 'direct', 'q2']);
  t.strictSame(defaults(fromCeleryConfig({ task_default_queue: 'q2', task_default_exchange: null, task_default_routing_key: null })), ['q2', 'direct', 'q2']);
  t.strictSame(defaults(fromCeleryConfig(seedCeleryConfig())), ['tasks', 'topic', 'task.default']);
});
