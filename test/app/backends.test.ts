// The backend factory's URL table: ws:// and wss:// are broker-server; amqp(s):// is the AMQP
// transport, which keeps no results and so needs a separate result backend; redis(s):// is the
// Redis result backend, paired with either transport (Redis as a broker is not built in). What
// cannot run fails when the settings resolve, with ERR_TRANSPORT_UNAVAILABLE naming the setting and
// the scheme, never showing a password.
import t, { type Test } from 'tap';
import { Celeriac } from '../../client/app/celeriac.js';
import { fromCeleryConfig } from '../../client/app/celery-config.js';
import { resolveSettings } from '../../client/app/settings.js';
import { CeleriacError } from '../../client/index.js';

function unavailable(t: Test, fn: () => unknown, ...patterns: RegExp[]): void {
  try {
    fn();
    t.fail(`expected ERR_TRANSPORT_UNAVAILABLE matching ${patterns.join(', ')}`);
  } catch (err) {
    t.type(err, CeleriacError);
    t.equal((err as CeleriacError).code, 'ERR_TRANSPORT_UNAVAILABLE');
    t.equal((err as CeleriacError).name, 'TransportUnavailableError');
    for (const p of patterns) t.match((err as Error).message, p);
    t.notMatch((err as Error).message, /secret/, 'the password is masked');
  }
}

t.test('an amqp:// or amqps:// broker is built in as a transport, and refused without a Redis result backend', async (t) => {
  for (const url of ['amqp://guest:secret@localhost:5672//', 'amqps://guest:secret@rabbit.example/vhost', 'AMQP://localhost']) {
    unavailable(t, () => new Celeriac({ broker: url }), /setting broker/, /RabbitMQ, which keeps no task results/, /redis:\/\//);
    unavailable(t, () => new Celeriac({ broker: url, resultBackend: 'rpc://' }), /setting resultBackend/, /keeps no task results/);
    unavailable(t, () => new Celeriac({ broker: url, resultBackend: 'ws://127.0.0.1:5680' }), /setting resultBackend/, /keeps no task results/);
  }
  unavailable(t, () => resolveSettings({ broker: 'redis://:secret@localhost:6379/0' }), /redis:\/\/ transport/);
});

t.test('a redis:// or rediss:// resultBackend is built in, with an amqp:// or a ws:// broker', async (t) => {
  for (const url of ['redis://:secret@localhost:6379/0', 'rediss://u:secret@redis.example:6380', 'redis://localhost']) {
    for (const broker of ['ws://127.0.0.1:5680', 'amqp://guest:guest@localhost:5672//', 'amqps://rabbit.example']) {
      const app = new Celeriac({ broker, resultBackend: url });
      t.equal(app.settings.resultBackend, url, `${broker} + ${url}`);
      t.equal(app.settings.broker, broker);
    }
  }
});

t.test("the seed's production configuration (RabbitMQ + Redis) resolves; the Celery keys are named in errors", async (t) => {
  // BROKER_URL alone parses (amqp:// is a transport built in); the app refuses it for want of a result backend.
  const amqp = fromCeleryConfig({ BROKER_URL: 'amqp://guest:secret@localhost//' });
  t.equal(amqp.broker, 'amqp://guest:secret@localhost//');
  unavailable(t, () => new Celeriac(amqp), /setting broker/, /keeps no task results/);
  const seed = fromCeleryConfig({ BROKER_URL: 'amqp://guest:secret@localhost//', CELERY_RESULT_BACKEND: 'redis://localhost:6379/0' });
  const app = new Celeriac(seed);
  t.equal(app.settings.broker, 'amqp://guest:secret@localhost//');
  t.equal(app.settings.resultBackend, 'redis://localhost:6379/0');
  unavailable(t, () => new Celeriac(fromCeleryConfig({ BROKER_URL: 'amqp://guest:secret@localhost//', CELERY_RESULT_BACKEND: 'rpc://' })), /setting resultBackend/, /keeps no task results/);
});

t.test('useBroker() refuses them the same way; ws:// and wss:// still resolve', async (t) => {
  const app = new Celeriac({ broker: 'ws://127.0.0.1:5680' });
  unavailable(t, () => app.useBroker('amqp://guest:secret@localhost:5672'), /setting broker/);
  // A Redis result backend stays where it is when the broker changes: the pair then works.
  const redis = new Celeriac({ broker: 'ws://127.0.0.1:5680', resultBackend: 'redis://localhost:6379/1' });
  redis.useBroker('amqp://guest:secret@localhost:5672');
  t.equal(redis.settings.resultBackend, 'redis://localhost:6379/1');
  t.equal(resolveSettings({ broker: 'wss://broker.example:443' }).broker, 'wss://broker.example:443');
  t.equal(resolveSettings({ broker: 'ws://broker.example:5680', resultBackend: 'rpc://' }).resultBackend, 'ws://broker.example:5680');
});
