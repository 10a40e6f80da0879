// The settings table and resolveSettings(): defaults valid, keys checked, values checked, routing derived.
import t from 'tap';
import { SETTINGS, SETTING_NAMES, parseSetting, resolveSettings, type SettingsInput } from '../../client/app/settings.js';
import { bindingAccepts, globToRegExp, queueFor, routeFor } from '../../client/app/routing.js';
import { parseRateLimit } from '../../client/app/rate-limit.js';
import { closest } from '../../client/app/suggest.js';
import { Celeriac } from '../../client/app/celeriac.js';
import { throwsInvalid } from './app-helpers.js';

t.test('every default passes its own parser and comes back unchanged', async (t) => {
  for (const key of SETTING_NAMES) {
    const spec = SETTINGS[key];
    t.strictSame(parseSetting(key, spec.default), spec.default, key);
    t.ok(spec.doc.length > 0, `${key} is documented`);
    if (spec.celery.scale === 1000) t.equal(spec.unit, 'ms', `${key}: a Celery duration in seconds is ms here`);
  }
});

t.test('every duration setting is in ms and scaled from Celery seconds', async (t) => {
  for (const key of SETTING_NAMES) {
    const spec = SETTINGS[key];
    if (spec.unit === 'ms' && spec.celery.name !== null) t.equal(spec.celery.scale, 1000, key);
  }
  t.equal(SETTINGS.workerMaxMemoryPerChild.celery.scale, 1024, 'Celery KiB → bytes');
});

t.test('resolveSettings({}) gives every setting, frozen, with derived values', async (t) => {
  const s = resolveSettings({});
  for (const key of SETTING_NAMES) t.ok(key in s, key);
  t.ok(Object.isFrozen(s));
  t.ok(Object.isFrozen(s.taskQueues));
  t.ok(Object.isFrozen(s.taskQueues[0]));
  t.equal(s.resultBackend, s.broker, 'resultBackend defaults to the broker');
  t.strictSame(s.taskQueues, [{ name: 'default', exchange: 'tasks', exchangeType: 'topic', routingKey: 'task.default', durable: true, autoDelete: false, maxPriority: undefined, arguments: {} }]);
  t.equal(s.resultExpires, 86_400_000);
  t.strictSame(routeFor(s, 'anything'), { exchange: 'tasks', routingKey: 'task.default', queue: 'default' });
  t.throws(() => { (s as { taskAcksLate: boolean }).taskAcksLate = true; });
});

t.test('resolveSettings keeps given values, undefined = not given, result is a new frozen object', async (t) => {
  const input: SettingsInput = { broker: 'ws://127.0.0.1:1234', taskAcksLate: true, taskTimeLimit: 5_000, workerConcurrency: undefined };
  const s = resolveSettings(input);
  t.equal(s.broker, 'ws://127.0.0.1:1234');
  t.equal(s.resultBackend, 'ws://127.0.0.1:1234');
  t.equal(s.taskAcksLate, true);
  t.equal(s.taskTimeLimit, 5_000);
  t.equal(s.workerConcurrency, SETTINGS.workerConcurrency.default);
  t.notOk(Object.isFrozen(input), 'the input is left alone');
  t.strictSame(resolveSettings({ acceptContent: ['application/x-msgpack', 'json', 'msgpack'] as never }).acceptContent, ['msgpack', 'json'], 'MIME names map to serializer names, duplicates dropped');
});

t.test('an unknown key names itself and suggests the closest known one', async (t) => {
  throwsInvalid(t, () => resolveSettings({ taskAckLate: true } as never), /'taskAckLate'/, /did you mean 'taskAcksLate'\?/);
  throwsInvalid(t, () => resolveSettings({ TASK_ACKS_LATE: true } as never), /did you mean 'taskAcksLate'/);
  throwsInvalid(t, () => resolveSettings({ workerConcurency: 2 } as never), /did you mean 'workerConcurrency'/);
  throwsInvalid(t, () => resolveSettings({ somethingElseEntirely: 1 } as never), /unknown setting 'somethingElseEntirely'$/);
  throwsInvalid(t, () => resolveSettings(null as never), /settings must be an object/);
});

const BAD: ReadonlyArray<readonly [string, unknown, RegExp?]> = [
  ['broker', 'http://guest@localhost//', /ws:\/\/ or wss:\/\//],
  ['broker', 42],
  ['resultBackend', 'db+sqlite:///results.db', /must be unset, 'rpc:\/\/' or the broker's URL/],
  ['resultBackend', 'ws://elsewhere:5680', /must be unset, 'rpc:\/\/' or the broker's URL.*the broker is 'ws:\/\/127\.0\.0\.1:5680'/],
  ['taskSerializer', 'pickle', /'json', 'msgpack'/],
  ['resultSerializer', 'yaml'],
  ['acceptContent', []],
  ['acceptContent', ['json', 'pickle'], /acceptContent\[1\]/],
  ['messageCompression', 'bzip2', /'zlib', 'gzip', 'brotli'/],
  ['resultExpires', -1, /milliseconds/],
  ['resultExpires', 0],
  ['taskAcksLate', 'yes', /true or false/],
  ['taskTimeLimit', 0],
  ['taskTimeLimit', Infinity],
  ['taskSoftTimeLimit', '5s'],
  ['workerConcurrency', 0, /integer/],
  ['workerConcurrency', 2.5],
  ['workerPrefetchMultiplier', -1],
  ['workerMaxTasksPerChild', 0],
  ['workerMaxMemoryPerChild', 1.5],
  ['workerPool', 'prefork', /'async', 'threads', 'processes'/],
  ['taskDefaultQueue', ''],
  ['taskDefaultExchangeType', 'x-delayed'],
  ['taskDefaultRoutingKey', 'k'.repeat(256)],
  ['taskDefaultRateLimit', '10/d', /'10\/s'/],
  ['taskDefaultRetryDelay', null],
  ['taskMaxRetries', -1],
  ['taskDefaultPriority', 256],
  ['taskQueueMaxPriority', 0],
  ['timezone', 'Mars/Olympus'],
  ['taskQueues', 'default'],
  ['taskQueues', [{ name: 'a' }, { name: 'a' }], /taskQueues\[1\]\.name.*unique/],
  ['taskQueues', [{ name: 'a', routing_key: 'x' }], /taskQueues\[0\]\.routing_key is not a known field \(did you mean 'routingKey'\?\)/],
  ['taskQueues', [{ name: 'a', exchangeType: 'weird' }], /taskQueues\[0\]\.exchangeType/],
  ['taskQueues', { web: { routingKey: 7 } }, /taskQueues\.web\.routingKey/],
  ['taskRoutes', 'web', /taskRoutes/],
  ['taskRoutes', { 'a.*': { queue: 'q', routing_key: 'k' } }, /taskRoutes\['a\.\*'\]\.routing_key/],
  ['taskRoutes', { 'a.b': 5 }, /taskRoutes\['a\.b'\]/],
  ['beatSchedule', { tick: { task: 'x' } }, /beatSchedule\['tick'\]\.schedule/],
  ['beatSchedule', { tick: { task: 'x', schedule: 0 } }, /beatSchedule\['tick'\]\.schedule/],
  ['beatSchedule', { tick: { task: 'x', schedule: '* * *' } }, /crontab/],
  ['beatSchedule', { tick: { task: 'x', schedule: { hour: 24 } } }, /schedule\.hour/],
  ['beatSchedule', { tick: { task: 'x', schedule: 1000, args: 'a' } }, /args/],
  ['beatSchedule', { tick: { task: 'x', schedule: 1000, args: [() => 1] } }, /args/],
  ['beatSchedule', { tick: { task: 'x', schedule: 1000, options: { expires: -5 } } }, /options\.expires/],
  ['beatSchedule', { tick: { task: '', schedule: 1000 } }, /\.task/],
  ['beatSchedule', { tick: { task: 'x', schedule: 1000, relative: true } }, /\.relative/],
];

t.test('a bad value throws ERR_INVALID_ARGUMENT naming the key', async (t) => {
  for (const [key, value, pattern] of BAD) {
    throwsInvalid(t, () => resolveSettings({ [key]: value } as SettingsInput), new RegExp(`setting ${key}\\b`), ...(pattern === undefined ? [] : [pattern]));
  }
});

t.test('null means "none" for nullable settings only', async (t) => {
  const s = resolveSettings({ resultExpires: null, taskTimeLimit: null, messageCompression: null, resultBackend: null });
  t.equal(s.resultExpires, null);
  t.equal(s.resultBackend, s.broker);
  throwsInvalid(t, () => resolveSettings({ taskAcksLate: null } as never), /setting taskAcksLate/);
});

t.test('cross-setting checks', async (t) => {
  throwsInvalid(t, () => resolveSettings({ workerConcurrency: 1000, workerPrefetchMultiplier: 100 }), /workerPrefetchMultiplier/, /65535/);
  throwsInvalid(t, () => resolveSettings({ taskQueues: [{ name: 'default', routingKey: 'task.#' }], taskDefaultRoutingKey: 'default' }),
    /taskDefaultRoutingKey: 'default' does not reach taskDefaultQueue 'default' \(bound 'task\.#' on topic exchange 'tasks'\)/);
  throwsInvalid(t, () => resolveSettings({ taskQueues: [{ name: 'web', routingKey: 'web.#' }], taskCreateMissingQueues: false }), /setting taskDefaultQueue/);
  throwsInvalid(t, () => resolveSettings({ taskQueues: [{ name: 'default', routingKey: 'task.#' }, { name: 'web', routingKey: 'web.#' }], taskRoutes: { 'x.add': { queue: 'web', routingKey: 'task.add' } } }),
    /setting taskRoutes\['x\.add'\]\.routingKey: 'task\.add' does not reach queue 'web'/);
  throwsInvalid(t, () => resolveSettings({ taskQueues: [{ name: 'default', routingKey: 'task.#' }], taskRoutes: { 'x.add': 'nowhere' }, taskCreateMissingQueues: false }),
    /setting taskRoutes\['x\.add'\]\.queue/);
  throwsInvalid(t, () => resolveSettings({ taskQueues: [{ name: 'default', routingKey: 'task.#' }, { name: 'b', exchange: 'tasks', exchangeType: 'direct' }] }),
    /taskQueues\[1\]\.exchangeType/);
});

t.test('queues: dict form, bare names and defaults filled in', async (t) => {
  const s = resolveSettings({
    taskQueues: { default: { routingKey: 'task.#' }, web_tasks: { routingKey: 'web.#', maxPriority: 10 }, other: { exchange: 'x' } },
    taskQueueMaxPriority: 5,
  });
  t.strictSame(s.taskQueues.map((q) => [q.name, q.exchange, q.exchangeType, q.routingKey, q.maxPriority]), [
    ['default', 'tasks', 'topic', 'task.#', 5],
    ['web_tasks', 'tasks', 'topic', 'web.#', 10],
    ['other', 'x', 'direct', 'other', 5],
  ]);
  const bare = resolveSettings({ taskQueues: ['default', 'b'], taskDefaultExchangeType: 'direct', taskDefaultRoutingKey: 'default' });
  t.strictSame(bare.taskQueues.map((q) => q.routingKey), ['default', 'b']);
  t.strictSame(routeFor(bare, 't'), { exchange: 'tasks', routingKey: 'default', queue: 'default' });
  t.strictSame(routeFor(bare, 't', { queue: 'b' }), { exchange: 'tasks', routingKey: 'b', queue: 'b' });
});

t.test('routeFor: exact beats glob, globs in order, functions, lists, explicit options win', async (t) => {
  const fn = (name: string) => (name.startsWith('fn.') ? { queue: 'fnq' } : null);
  const s = resolveSettings({
    taskQueues: [{ name: 'default', routingKey: 'task.#' }, { name: 'web', routingKey: 'web.#' }, { name: 'img', routingKey: 'img.#' }],
    taskRoutes: [fn, { 'p.*': { queue: 'img', routingKey: 'img.any' }, 'p.add': { queue: 'web', routingKey: 'web.add' }, 'p.?x': 'web', 'q.*': { routingKey: 'task.q' } }],
  });
  t.strictSame(routeFor(s, 'p.add'), { exchange: 'tasks', routingKey: 'web.add', queue: 'web' }, 'exact name first');
  t.strictSame(routeFor(s, 'p.mul'), { exchange: 'tasks', routingKey: 'img.any', queue: 'img' }, 'glob');
  t.strictSame(routeFor(s, 'p.a.b'), { exchange: 'tasks', routingKey: 'img.any', queue: 'img' }, '* spans dots as in fnmatch');
  t.strictSame(routeFor(s, 'q.x'), { exchange: 'tasks', routingKey: 'task.q', queue: 'default' }, 'key without queue');
  t.strictSame(routeFor(s, 'fn.x'), { exchange: 'fnq', routingKey: 'fnq', queue: 'fnq' }, 'function router, missing queue created Celery-style');
  t.strictSame(routeFor(s, 'other'), { exchange: 'tasks', routingKey: 'task.default', queue: 'default' });
  t.strictSame(routeFor(s, 'p.add', { routingKey: 'web.special', priority: 3 }), { exchange: 'tasks', routingKey: 'web.special', queue: 'web', priority: 3 });
  t.strictSame(routeFor(s, 'p.add', { queue: 'img' }), { exchange: 'tasks', routingKey: 'img.#', queue: 'img' }, 'an explicit queue drops the route\'s key');
  t.strictSame(routeFor(s, 'p.add', { queue: 'default' }), { exchange: 'tasks', routingKey: 'task.default', queue: 'default' });
  t.equal(queueFor(s, 'web').routingKey, 'web.#');
  throwsInvalid(t, () => routeFor(resolveSettings({ taskRoutes: () => ({ queue: 5 }) as never }), 'x'), /taskRoutes \(function, for task 'x'\)\.queue/);
});

t.test('routeFor is cheap to call again: same answer, frozen settings untouched', async (t) => {
  const s = resolveSettings({ taskRoutes: { 'a.*': 'qa' } });
  for (let i = 0; i < 3; i++) t.strictSame(routeFor(s, 'a.b'), { exchange: 'qa', routingKey: 'qa', queue: 'qa' });
});

t.test('binding matching (AMQP topic rules) and globs', async (t) => {
  const cases: ReadonlyArray<readonly [string, string, boolean]> = [
    ['task.#', 'task.default', true], ['task.#', 'task', true], ['task.#', 'web.add', false],
    ['*.add', 'web.add', true], ['*.add', 'add', false], ['#', '', true], ['a.#.z', 'a.z', true],
    ['a.#.z', 'a.b.c.z', true], ['a.*.z', 'a.z', false], ['#.#', 'x.y', true], ['web.#', 'web.add', true],
  ];
  for (const [pattern, key, want] of cases) t.equal(bindingAccepts('topic', pattern, key), want, `${pattern} ~ ${key}`);
  t.ok(bindingAccepts('direct', 'k', 'k'));
  t.notOk(bindingAccepts('direct', 'k', 'k2'));
  t.ok(bindingAccepts('fanout', 'k', 'anything'));
  t.ok(globToRegExp('projq.tasks.*').test('projq.tasks.add'));
  t.notOk(globToRegExp('projq.tasks.*').test('projqxtasks.add'), 'dots are literal');
  t.ok(globToRegExp('a?c').test('abc'));
});

t.test('beat schedule: shapes accepted, parsed, copied and frozen', async (t) => {
  const args = [1, { n: 2 }];
  const s = resolveSettings({
    beatSchedule: {
      every30: { task: 'tasks.add', schedule: 30_000, args },
      nightly: { task: 'tasks.report', schedule: '0 3 * * mon-fri', kwargs: { full: true }, options: { queue: 'default', expires: 60_000 } },
      hourly: { task: 'tasks.tick', schedule: '@hourly' },
      fields: { task: 'tasks.tick', schedule: { minute: '*/15', hour: 9, dayOfWeek: 'mon-fri' } },
    },
  });
  t.strictSame(s.beatSchedule['every30'], {
    task: 'tasks.add', schedule: { kind: 'interval', every: 30_000 }, args: [1, { n: 2 }], kwargs: {}, options: {},
    limit: null, start: null, end: null, missed: 'skip', missedLimit: 100, timezone: null,
  });
  t.not(s.beatSchedule['every30']!.args, args, 'args are copied');
  t.ok(Object.isFrozen(s.beatSchedule['every30']!.args[1]));
  t.notOk(Object.isFrozen(args[1]), 'the caller\'s args are not frozen');
  t.equal(s.beatSchedule['nightly']!.options.expires, 60_000);
  t.strictSame(s.beatSchedule['nightly']!.schedule, { kind: 'crontab', expr: '0 3 * * mon-fri', timezone: null });
  t.strictSame(s.beatSchedule['fields']!.schedule, { kind: 'crontab', expr: '*/15 9 * * mon-fri', timezone: null });
  t.strictSame(resolveSettings({ beatSchedule: s.beatSchedule }).beatSchedule, s.beatSchedule, 'the parsed form is accepted again as is');
});

t.test('beat schedule: ISO times without an offset are read in the timezone setting, whatever the key order', async (t) => {
  const s = resolveSettings({
    beatSchedule: { once: { task: 't.once', schedule: { at: '2026-07-01T09:00:00' } } },
    timezone: 'Europe/Paris',
  });
  // 09:00 in Paris in summer (UTC+2) is 07:00Z; a one-off misses 'once' by default (it still fires if beat was down).
  t.strictSame(s.beatSchedule['once']!.schedule, { kind: 'once', at: Date.parse('2026-07-01T07:00:00Z') });
  t.equal(s.beatSchedule['once']!.missed, 'once');
});

t.test('new Celeriac() refuses a bad beat entry, naming it', async (t) => {
  throwsInvalid(t, () => new Celeriac({ beatSchedule: { bad: { task: 't', schedule: 'nope' } } }), /setting beatSchedule\['bad'\]\.schedule/, /crontab/);
  throwsInvalid(t, () => new Celeriac({ beatSchedule: { zone: { task: 't', schedule: '0 9 * * *', timezone: 'Mars/Olympus' } } }), /setting beatSchedule\['zone'\]\.timezone/);
  throwsInvalid(t, () => new Celeriac({ beatSchedule: { shape: { task: 't', schedule: { evry: 5 } as never } } }), /setting beatSchedule\['shape'\]\.schedule\.evry is not a known field \(did you mean 'every'\?\)/);
});

t.test('rate limits', async (t) => {
  t.strictSame(parseRateLimit('10/s', 'x'), { count: 10, intervalMs: 1_000 });
  t.strictSame(parseRateLimit('100/m', 'x'), { count: 100, intervalMs: 60_000 });
  t.strictSame(parseRateLimit('5/h', 'x'), { count: 5, intervalMs: 3_600_000 });
  t.strictSame(parseRateLimit('7', 'x'), { count: 7, intervalMs: 1_000 });
  t.strictSame(parseRateLimit(2.5, 'x'), { count: 2.5, intervalMs: 1_000 });
  throwsInvalid(t, () => parseRateLimit('fast', 'rateLimit'), /setting rateLimit/);
  t.equal(resolveSettings({ taskDefaultRateLimit: '10/s' }).taskDefaultRateLimit, '10/s');
});

t.test('suggestions: close names only', async (t) => {
  t.equal(closest('taskAckLate', ['taskAcksLate', 'broker']), 'taskAcksLate');
  t.equal(closest('zzz', ['taskAcksLate', 'broker']), undefined);
});
