// resultBackend: unset, 'rpc://' or the broker's URL (any spelling) mean the broker, which keeps
// results; a redis:// or rediss:// URL is the Redis result backend; anything else is refused at
// new Celeriac(), resolveSettings() and fromCeleryConfig().
import t from 'tap';
import { Celeriac } from '../../client/app/celeriac.js';
import { fromCeleryConfig } from '../../client/app/celery-config.js';
import { sameBroker } from '../../client/app/result-backend.js';
import { resolveSettings } from '../../client/app/settings.js';
import { throwsInvalid } from './app-helpers.js';

const BROKER = 'ws://broker.example:5680';
const REFUSED = /setting resultBackend must be unset, 'rpc:\/\/' or the broker's URL/;

t.test('the broker in any spelling, rpc:// or nothing: resolved to the broker URL', async (t) => {
  for (const given of [undefined, null, BROKER, `${BROKER}/`, 'WS://Broker.Example:5680', 'rpc://', 'rpc']) {
    t.equal(resolveSettings({ broker: BROKER, resultBackend: given }).resultBackend, BROKER, String(given));
  }
  t.equal(resolveSettings({ broker: 'ws://u:p@h/v', resultBackend: 'ws://u:p@h:80/v' }).resultBackend, 'ws://u:p@h/v', 'default port, credentials and vhost');
  t.equal(resolveSettings({ resultBackend: 'ws://127.0.0.1:5680/' }).resultBackend, 'ws://127.0.0.1:5680', 'the default broker too');
});

t.test('anything else is refused with ERR_INVALID_ARGUMENT naming resultBackend', async (t) => {
  for (const other of ['ws://elsewhere:5680', 'ws://broker.example:5681', 'wss://broker.example:5680', 'ws://someone@broker.example:5680', `${BROKER}/vhost`]) {
    throwsInvalid(t, () => resolveSettings({ broker: BROKER, resultBackend: other }), REFUSED, /the broker is 'ws:\/\/broker\.example:5680'/);
    throwsInvalid(t, () => new Celeriac({ broker: BROKER, resultBackend: other }), REFUSED);
  }
  throwsInvalid(t, () => resolveSettings({ resultBackend: 'cache+memcached://localhost:11211/' }), REFUSED, /got 'cache\+memcached:\/\/localhost:11211\/'/);
  throwsInvalid(t, () => resolveSettings({ resultBackend: 'db+sqlite:///results.db' }), REFUSED);
  throwsInvalid(t, () => resolveSettings({ resultBackend: 7 as never }), REFUSED);
});

t.test('a refused URL does not show its password', async (t) => {
  for (const given of ['ws://u:secret@elsewhere:5680', 'db+postgresql://u:secret@localhost/results']) {
    throwsInvalid(t, () => resolveSettings({ broker: 'ws://me:hidden@broker.example', resultBackend: given }), REFUSED);
    try {
      resolveSettings({ broker: 'ws://me:hidden@broker.example', resultBackend: given });
    } catch (err) {
      t.notMatch((err as Error).message, /secret|hidden/);
    }
  }
});

t.test('Celery configurations: CELERY_RESULT_BACKEND is refused the same way', async (t) => {
  throwsInvalid(t, () => fromCeleryConfig({ BROKER_URL: BROKER, CELERY_RESULT_BACKEND: 'db+sqlite:///results.db' }), /setting CELERY_RESULT_BACKEND must be unset, 'rpc:\/\/'/);
  throwsInvalid(t, () => new Celeriac(fromCeleryConfig({ broker_url: BROKER, result_backend: 'ws://elsewhere:5680' })), REFUSED);
  t.equal(new Celeriac(fromCeleryConfig({ broker_url: BROKER, result_backend: 'rpc://' })).settings.resultBackend, BROKER);
});

t.test('useBroker(): results follow the broker', async (t) => {
  const app = new Celeriac({ broker: BROKER, resultBackend: `${BROKER}/` });
  app.useBroker('ws://other.example:5680');
  t.equal(app.settings.resultBackend, 'ws://other.example:5680');
  const rpc = new Celeriac({ broker: BROKER, resultBackend: 'rpc://' });
  rpc.useBroker('ws://other.example:5680');
  t.equal(rpc.settings.resultBackend, 'ws://other.example:5680');
});

t.test('sameBroker compares what the URL reaches, not its spelling', async (t) => {
  t.ok(sameBroker('ws://h:1', 'ws://H:1/'));
  t.ok(sameBroker('wss://h', 'wss://h:443'));
  t.ok(sameBroker('ws://h/%2F', 'ws://h/%2f'), 'the vhost is compared decoded');
  t.notOk(sameBroker('ws://h:1', 'wss://h:1'));
  t.notOk(sameBroker('ws://a:x@h:1', 'ws://a:y@h:1'));
});

t.test('a redis:// or rediss:// URL is the Redis result backend, kept as given, beside any broker', async (t) => {
  for (const url of ['redis://localhost:6379/0', 'redis://:pw@10.0.0.1/3', 'rediss://user:pw@redis.example:6380/1?ssl_cert_reqs=CERT_NONE', 'redis://[::1]:6379']) {
    t.equal(resolveSettings({ broker: BROKER, resultBackend: url }).resultBackend, url, url);
    t.equal(resolveSettings({ broker: 'amqp://rabbit.example', resultBackend: url }).resultBackend, url);
  }
  const seed = new Celeriac(fromCeleryConfig({ BROKER_URL: 'amqp://guest:guest@rabbit.example//', CELERY_RESULT_BACKEND: 'redis://redis.example:6379/0' }));
  t.equal(seed.settings.resultBackend, 'redis://redis.example:6379/0', "the seed's CELERY_RESULT_BACKEND");
  t.equal(new Celeriac(fromCeleryConfig({ broker_url: BROKER, result_backend: 'rediss://r.example/2' })).settings.resultBackend, 'rediss://r.example/2');
});

t.test('a Redis URL that cannot work is refused naming the setting, its password masked', async (t) => {
  throwsInvalid(t, () => resolveSettings({ broker: BROKER, resultBackend: 'redis://:secret@localhost/zero' }), /setting resultBackend/, /the database 'zero' is not a number/);
  throwsInvalid(t, () => resolveSettings({ broker: BROKER, resultBackend: 'redis://localhost/0?ssl_cert_reqs=CERT_NONE' }), /a TLS connection is rediss:\/\//);
  throwsInvalid(t, () => resolveSettings({ broker: BROKER, resultBackend: 'rediss://localhost/0?ssl_cert_reqs=maybe' }), /ssl_cert_reqs must be/);
  throwsInvalid(t, () => fromCeleryConfig({ BROKER_URL: BROKER, CELERY_RESULT_BACKEND: 'redis:///0' }), /setting CELERY_RESULT_BACKEND/, /no host/);
  try {
    resolveSettings({ broker: BROKER, resultBackend: 'redis://:secret@localhost/zero' });
  } catch (err) {
    t.notMatch((err as Error).message, /secret/);
  }
});

t.test('useBroker(): a Redis result backend stays', async (t) => {
  const app = new Celeriac({ broker: BROKER, resultBackend: 'redis://localhost:6379/2' });
  app.useBroker('ws://other.example:5680');
  t.equal(app.settings.resultBackend, 'redis://localhost:6379/2');
});
