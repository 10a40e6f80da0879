// fromCeleryConfig(): Celery's names and units in, celeriac settings out; the seed deployment end to end.
import t from 'tap';
import { CONFIG_NAMES, fromCeleryConfig } from '../../client/app/celery-config.js';
import { SETTINGS, SETTING_NAMES, resolveSettings } from '../../client/app/settings.js';
import { routeFor } from '../../client/app/routing.js';
import { seedCeleryConfig } from '../fixtures/seed-config.js';
import { throwsInvalid } from './app-helpers.js';

const SEED = seedCeleryConfig();

t.test('the seed deployment from its upper-case Celery form', async (t) => {
  const s = resolveSettings(fromCeleryConfig(SEED));
  t.equal(s.broker, 'ws://127.0.0.1:5680');
  t.equal(s.resultBackend, 'ws://127.0.0.1:5680');
  t.equal(s.taskSerializer, 'msgpack');
  t.equal(s.resultSerializer, 'json');
  t.strictSame(s.acceptContent, ['msgpack', 'json']);
  t.equal(s.messageCompression, 'zlib');
  t.equal(s.resultExpires, 86_400_000, 'a day, in ms');
  t.equal(s.taskAcksLate, true);
  t.equal(s.taskTimeLimit, 5_000, '5 s, in ms');
  t.equal(s.workerConcurrency, 4);
  t.equal(s.workerPrefetchMultiplier, 4);
  t.equal(s.workerMaxTasksPerChild, 40);
  t.strictSame(s.taskQueues, [
    { name: 'default', exchange: 'tasks', exchangeType: 'topic', routingKey: 'task.#', durable: true, autoDelete: false, maxPriority: undefined, arguments: {} },
    { name: 'web_tasks', exchange: 'tasks', exchangeType: 'topic', routingKey: 'web.#', durable: true, autoDelete: false, maxPriority: undefined, arguments: {} },
  ]);
  t.strictSame(routeFor(s, 'projq.tasks.add'), { exchange: 'tasks', routingKey: 'web.add', queue: 'web_tasks' });
  t.strictSame(routeFor(s, 'projq.tasks.other'), { exchange: 'tasks', routingKey: 'task.default', queue: 'default' });
});

t.test('the same deployment from lowercase Celery 4+ names and from camelCase gives the same settings', async (t) => {
  const lower = fromCeleryConfig({
    broker_url: 'ws://127.0.0.1:5680', result_backend: 'ws://127.0.0.1:5680', task_serializer: 'msgpack', result_serializer: 'json',
    accept_content: ['msgpack', 'json'], task_compression: 'zlib', result_expires: 86400, task_acks_late: true, task_time_limit: 5,
    worker_concurrency: 4, worker_prefetch_multiplier: 4, worker_max_tasks_per_child: 40, task_default_exchange: 'tasks',
    task_default_exchange_type: 'topic', task_default_queue: 'default', task_default_routing_key: 'task.default',
    task_queues: { default: { exchange: 'tasks', routing_key: 'task.#' }, web_tasks: { exchange: { name: 'tasks', type: 'topic' }, binding_key: 'web.#' } },
    task_routes: [[['projq.tasks.*', { queue: 'web_tasks', routing_key: 'web.add' }]]],
  });
  const camel = fromCeleryConfig({
    broker: 'ws://127.0.0.1:5680', taskSerializer: 'msgpack', acceptContent: ['msgpack', 'json'], messageCompression: 'zlib',
    resultExpires: 86_400_000, taskAcksLate: true, taskTimeLimit: 5_000, workerConcurrency: 4, workerMaxTasksPerChild: 40,
    taskQueues: [{ name: 'default', routingKey: 'task.#' }, { name: 'web_tasks', routingKey: 'web.#' }],
    taskRoutes: { 'projq.tasks.add': { queue: 'web_tasks', routingKey: 'web.add' } },
  });
  const seed = resolveSettings(fromCeleryConfig(SEED));
  for (const input of [lower, camel]) {
    const s = resolveSettings(input);
    for (const key of ['taskSerializer', 'acceptContent', 'messageCompression', 'resultExpires', 'taskTimeLimit', 'workerConcurrency', 'taskQueues'] as const) {
      t.strictSame(s[key], seed[key], key);
    }
    t.strictSame(routeFor(s, 'projq.tasks.add'), routeFor(seed, 'projq.tasks.add'));
    t.strictSame(routeFor(s, 'other'), routeFor(seed, 'other'));
  }
});

t.test('every Celery name maps to a known setting; no name claims two settings', async (t) => {
  const known = new Set<string>(SETTING_NAMES);
  for (const [name, ref] of CONFIG_NAMES) t.ok(known.has(ref.setting), `${name} → ${ref.setting}`);
  for (const key of SETTING_NAMES) {
    const c = SETTINGS[key].celery;
    t.equal(CONFIG_NAMES.get(key)?.setting, key, `${key} (camelCase)`);
    if (c.name !== null) {
      t.equal(CONFIG_NAMES.get(c.name)?.setting, key, c.name);
      t.match(c.name, /^[a-z][a-z0-9_]*$/, `${c.name} is lowercase`);
    }
    for (const old of c.old) {
      t.equal(CONFIG_NAMES.get(old)?.setting, key, old);
      t.match(old, /^(BROKER|CELERY|CELERYD|CELERYBEAT)_[A-Z0-9_]+$/, `${old} is an old upper-case name`);
    }
  }
  // Names the brief and the issue quote must be there.
  for (const name of ['BROKER_URL', 'CELERY_RESULT_BACKEND', 'CELERYD_PREFETCH_MULTIPLIER', 'CELERY_QUEUES', 'CELERY_ROUTES', 'CELERYBEAT_SCHEDULE',
    'CELERYD_MAX_MEMORY_PER_CHILD', 'CELERY_TASK_RESULT_EXPIRES', 'CELERY_BROKER_URL', 'CELERY_TASK_ACKS_LATE', 'CELERY_WORKER_PREFETCH_MULTIPLIER']) {
    t.ok(CONFIG_NAMES.has(name), name);
  }
});

t.test('units: seconds → ms, KiB → bytes, only under Celery names', async (t) => {
  t.strictSame(fromCeleryConfig({ CELERYD_TASK_SOFT_TIME_LIMIT: 2.5, task_time_limit: 3, BROKER_HEARTBEAT: 10 }),
    { taskSoftTimeLimit: 2_500, taskTimeLimit: 3_000, brokerHeartbeat: 10_000 });
  t.strictSame(fromCeleryConfig({ CELERYD_MAX_MEMORY_PER_CHILD: 500_000 }), { workerMaxMemoryPerChild: 512_000_000 });
  t.strictSame(fromCeleryConfig({ taskTimeLimit: 3 }), { taskTimeLimit: 3 }, 'camelCase values are already ms');
  t.strictSame(fromCeleryConfig({ CELERY_TASK_RESULT_EXPIRES: 0 }), { resultExpires: null }, 'Celery: 0 = never expire');
  t.strictSame(fromCeleryConfig({ CELERY_TASK_RESULT_EXPIRES: null }), { resultExpires: null });
});

t.test('Celery values: None = default, env strings coerced, pools and queue arguments mapped', async (t) => {
  t.strictSame(fromCeleryConfig({ CELERYD_CONCURRENCY: 0, CELERY_ROUTES: null, CELERY_DEFAULT_QUEUE: null, CELERYD_TASK_TIME_LIMIT: null }), { taskTimeLimit: null });
  t.strictSame(fromCeleryConfig({ CELERYD_CONCURRENCY: '8', CELERY_ACKS_LATE: 'True', CELERY_ACCEPT_CONTENT: 'json, msgpack', task_time_limit: '1.5' }),
    { workerConcurrency: 8, taskAcksLate: true, acceptContent: ['json', 'msgpack'], taskTimeLimit: 1_500 });
  t.strictSame(fromCeleryConfig({ CELERYD_POOL: 'prefork' }), { workerPool: 'processes' });
  t.strictSame(fromCeleryConfig({ worker_pool: 'solo' }), { workerPool: 'async' });
  t.strictSame(fromCeleryConfig({ worker_pool: 'threads' }), { workerPool: 'threads' });
  const q = fromCeleryConfig({ CELERY_QUEUES: { hi: { routing_key: 'hi', queue_arguments: { 'x-max-priority': 10 }, auto_delete: true, durable: false } } });
  t.strictSame(q.taskQueues, [{ name: 'hi', routingKey: 'hi', durable: false, autoDelete: true, maxPriority: 10 }]);
});

t.test('CELERY_ROUTES forms: string values, function routers, list of routers', async (t) => {
  const s = resolveSettings(fromCeleryConfig({
    CELERY_ROUTES: [
      (name: string) => (name === 'f.x' ? { queue: 'fq', routing_key: 'fq' } : null),
      { 'a.*': 'aq', 'b.add': { queue: 'bq', exchange: 'bx', priority: 7 } },
    ],
  }));
  t.strictSame(routeFor(s, 'f.x'), { exchange: 'fq', routingKey: 'fq', queue: 'fq' });
  t.strictSame(routeFor(s, 'a.z'), { exchange: 'aq', routingKey: 'aq', queue: 'aq' });
  t.strictSame(routeFor(s, 'b.add'), { exchange: 'bx', routingKey: 'bq', queue: 'bq', priority: 7 });
});

t.test('CELERYBEAT_SCHEDULE: the seed form, seconds → ms, crontab fields snake → camel, options converted', async (t) => {
  // The seed: Celery's docs example, add(16, 16) every 10 seconds.
  const seed = resolveSettings(fromCeleryConfig({ CELERYBEAT_SCHEDULE: { 'add-every-10s': { task: 'tasks.add', schedule: 10.0, args: [16, 16] } } }));
  t.strictSame(seed.beatSchedule['add-every-10s'], {
    task: 'tasks.add', schedule: { kind: 'interval', every: 10_000 }, args: [16, 16], kwargs: {}, options: {},
    limit: null, start: null, end: null, missed: 'skip', missedLimit: 100, timezone: null,
  });
  const input = fromCeleryConfig({
    CELERY_TIMEZONE: 'Europe/Paris',
    CELERYBEAT_SCHEDULE: {
      'add-every-30s': { task: 'projq.tasks.add', schedule: 30, args: [16, 16], relative: false },
      'report-monday': { task: 'projq.tasks.report', schedule: { minute: 30, hour: 7, day_of_week: 1 }, options: { routing_key: 'web.report', expires: 60 } },
      'first-monday': { task: 'projq.tasks.report', schedule: { minute: 0, hour: 9, day_of_week: 'monday', day_of_month: '1-7' } },
      'weekdays': { task: 'projq.tasks.tick', schedule: { minute: 0, hour: [9, 17], day_of_week: [1, 2, 3, 4, 5] } },
      'cron-string': { task: 'projq.tasks.tick', schedule: '*/5 * * * *', kwargs: { verbose: true } },
      'dawn': { task: 'projq.tasks.lights', schedule: { event: 'dawn_civil', lat: 48.85, lon: 2.35 } },
    },
  });
  const s = resolveSettings(input);
  t.match(s.beatSchedule['add-every-30s'], { schedule: { kind: 'interval', every: 30_000 }, args: [16, 16] });
  t.match(s.beatSchedule['report-monday'], { schedule: { kind: 'crontab', expr: '30 7 * * 1', timezone: null }, options: { routingKey: 'web.report', expires: 60_000 } });
  t.equal(s.beatSchedule['first-monday']!.schedule.kind === 'crontab' && s.beatSchedule['first-monday']!.schedule.expr, '0 9 1-7 * +mon', 'both days restricted: Celery means both (croner\'s +)');
  t.equal(s.beatSchedule['weekdays']!.schedule.kind === 'crontab' && s.beatSchedule['weekdays']!.schedule.expr, '0 9,17 * * 1,2,3,4,5', 'Celery\'s lists');
  t.strictSame(s.beatSchedule['cron-string']!.schedule, { kind: 'crontab', expr: '*/5 * * * *', timezone: null });
  t.strictSame(s.beatSchedule['dawn']!.schedule, { kind: 'solar', event: 'dawn_civil', lat: 48.85, lon: 2.35 });
  t.equal(s.timezone, 'Europe/Paris');
  t.match(fromCeleryConfig({ beat_schedule: { x: { task: 't', schedule: 1 } } }).beatSchedule, { x: { task: 't', schedule: { kind: 'interval', every: 1_000 } } });
});

t.test('CELERYBEAT_SCHEDULE: Celery-only keys and bad entries are refused naming the entry', async (t) => {
  throwsInvalid(t, () => fromCeleryConfig({ CELERYBEAT_SCHEDULE: { x: { task: 't', schedule: 10, relative: true } } }), /setting CELERYBEAT_SCHEDULE\['x'\]\.relative/, /relative=True has no equivalent/);
  throwsInvalid(t, () => fromCeleryConfig({ CELERYBEAT_SCHEDULE: { x: { task: 't', schedule: 10, options: { link: 'y' } } } }), /setting CELERYBEAT_SCHEDULE\['x'\]\.options\.link is not a known field/);
  throwsInvalid(t, () => fromCeleryConfig({ CELERYBEAT_SCHEDULE: { x: { task: 't', schedule: { hour: 25 } } } }), /setting CELERYBEAT_SCHEDULE\['x'\]\.schedule\.hour/);
  throwsInvalid(t, () => fromCeleryConfig({ beat_schedule: { y: { task: 't', schedule: { event: 'moonrise', lat: 0, lon: 0 } } } }), /setting beat_schedule\['y'\]\.schedule\.event/);
});

t.test('an unknown key throws naming it, with a suggestion in its own style', async (t) => {
  throwsInvalid(t, () => fromCeleryConfig({ CELERY_ACK_LATE: true }), /unknown Celery setting 'CELERY_ACK_LATE'/, /did you mean 'CELERY_ACKS_LATE'\?/);
  throwsInvalid(t, () => fromCeleryConfig({ task_ack_late: true }), /did you mean 'task_acks_late'\?/);
  throwsInvalid(t, () => fromCeleryConfig({ taskAckLate: true }), /did you mean 'taskAcksLate'\?/);
  throwsInvalid(t, () => fromCeleryConfig({ CELERYD_CONCURENCY: 2 }), /did you mean 'CELERYD_CONCURRENCY'\?/);
  throwsInvalid(t, () => fromCeleryConfig({ CELERY_ALWAYS_EAGER: true }), /'CELERY_ALWAYS_EAGER'/);
  throwsInvalid(t, () => fromCeleryConfig([] as never), /must be an object/);
});

t.test('a bad value throws naming the key as written', async (t) => {
  throwsInvalid(t, () => fromCeleryConfig({ CELERYD_CONCURRENCY: 'many' }), /setting CELERYD_CONCURRENCY must be an integer/);
  throwsInvalid(t, () => fromCeleryConfig({ CELERY_TASK_SERIALIZER: 'pickle' }), /setting CELERY_TASK_SERIALIZER/);
  throwsInvalid(t, () => fromCeleryConfig({ BROKER_URL: 'http://guest@localhost//' }), /setting BROKER_URL/, /ws:\/\//);
  throwsInvalid(t, () => fromCeleryConfig({ CELERYD_POOL: 'gevent2' }), /setting CELERYD_POOL/);
  throwsInvalid(t, () => fromCeleryConfig({ CELERY_QUEUES: [{ name: 'a', routing_key: 'a', consumer_arguments: {} }] }), /setting CELERY_QUEUES\[0\]\.consumerArguments/);
  throwsInvalid(t, () => fromCeleryConfig({ CELERY_QUEUES: { a: { queue_arguments: { 'ha-policy': 'all' } } } }), /CELERY_QUEUES\.a\.queue_arguments\['ha-policy'\]/);
  throwsInvalid(t, () => fromCeleryConfig({ CELERY_QUEUES: { a: { queue_arguments: { 'x-queue-type': ['quorum'] } } } }), /CELERY_QUEUES\.a\.arguments\['x-queue-type'\] must be a string, a finite number or a boolean/);
  // RabbitMQ's x-arguments become the queue's arguments (they are in ms already); those without a
  // name of ours (x-queue-type, ...) are declared as given, as kombu's queue_arguments are.
  const withArgs = resolveSettings(fromCeleryConfig({ CELERY_QUEUES: { a: { queue_arguments: { 'x-message-ttl': 5_000, 'x-dead-letter-exchange': 'dlx', 'x-max-priority': 10, 'x-queue-type': 'quorum' } } } }));
  t.strictSame(withArgs.taskQueues.find((q) => q.name === 'a')?.arguments, { messageTtl: 5_000, deadLetterExchange: 'dlx', 'x-queue-type': 'quorum' });
  t.match(withArgs.taskQueues.find((q) => q.name === 'a'), { name: 'a', maxPriority: 10 });
  throwsInvalid(t, () => resolveSettings({ taskQueues: [{ name: 'b', arguments: { messageTTL: 5 } as never }] }), /taskQueues\[0\]\.arguments\.messageTTL is not a known field .*or a RabbitMQ x-argument/);
  // In taskQueues too: an x-argument of a named one is that one, and must agree with it when both are given.
  const own = resolveSettings({ taskQueues: [{ name: 'c', maxPriority: 5, arguments: { 'x-delivery-limit': 3, 'x-max-priority': 5, 'x-single-active-consumer': true } }] });
  t.strictSame(own.taskQueues[0]?.arguments, { deliveryLimit: 3, 'x-single-active-consumer': true });
  t.equal(own.taskQueues[0]?.maxPriority, 5);
  t.strictSame(resolveSettings({ taskQueues: own.taskQueues }).taskQueues, own.taskQueues, 'a resolved queue is accepted as input again');
  throwsInvalid(t, () => resolveSettings({ taskQueues: [{ name: 'd', arguments: { messageTtl: 5, 'x-message-ttl': 6 } }] }), /taskQueues\[0\]\.arguments\['x-message-ttl'\] must be the same as messageTtl/);
  throwsInvalid(t, () => resolveSettings({ taskQueues: [{ name: 'd', maxPriority: 5, arguments: { 'x-max-priority': 9 } }] }), /taskQueues\[0\]\.arguments\['x-max-priority'\] must be the same as maxPriority/);
  throwsInvalid(t, () => resolveSettings({ taskQueues: [{ name: 'd', arguments: { 'x-expires': 0 } }] }), /taskQueues\[0\]\.arguments\['x-expires'\] must be an integer >= 1/);
  throwsInvalid(t, () => fromCeleryConfig({ CELERY_ROUTES: { 'x.y': { queue: 'q', routing_key: 'a', routingKey: 'b' } } }), /CELERY_ROUTES\['x\.y'\]\.routingKey/);
  throwsInvalid(t, () => fromCeleryConfig({ CELERYBEAT_SCHEDULE: { x: { task: 't', schedule: -1 } } }), /setting CELERYBEAT_SCHEDULE\['x'\]\.schedule/);
  throwsInvalid(t, () => fromCeleryConfig({ CELERY_MESSAGE_COMPRESSION: 'bzip2' }), /setting CELERY_MESSAGE_COMPRESSION/);
});

t.test('one setting under two names: fine when equal, an error when different', async (t) => {
  t.strictSame(fromCeleryConfig({ CELERYD_CONCURRENCY: 4, worker_concurrency: 4, workerConcurrency: 4 }), { workerConcurrency: 4 });
  t.strictSame(fromCeleryConfig({ CELERYD_TASK_TIME_LIMIT: 5, taskTimeLimit: 5_000 }), { taskTimeLimit: 5_000 }, 'compared after conversion');
  throwsInvalid(t, () => fromCeleryConfig({ CELERYD_CONCURRENCY: 4, worker_concurrency: 8 }), /CELERYD_CONCURRENCY and worker_concurrency both set workerConcurrency/);
  throwsInvalid(t, () => fromCeleryConfig({ BROKER_URL: 'ws://a:1', CELERY_BROKER_URL: 'ws://b:1' }), /BROKER_URL and CELERY_BROKER_URL/);
});

t.test('the output is valid input again (idempotent through resolveSettings)', async (t) => {
  const once = fromCeleryConfig(SEED);
  t.strictSame(fromCeleryConfig(once as Record<string, unknown>), once);
  t.strictSame(resolveSettings(once), resolveSettings(fromCeleryConfig(once as Record<string, unknown>)));
});
