// Broker URL parsing: credentials and vhost from the URL, options winning, bad URLs refused.
import t from 'tap';
import { parseBrokerUrl } from '../../client/url.js';

t.test('plain URL: no credentials, default vhost', async (t) => {
  const target = parseBrokerUrl('ws://127.0.0.1:5680');
  t.same(target, { wsUrl: 'ws://127.0.0.1:5680/', displayUrl: 'ws://127.0.0.1:5680/', user: undefined, password: undefined, vhost: undefined });
});

t.test('credentials and vhost ride in the URL, percent-decoded; the password is masked for display', async (t) => {
  const target = parseBrokerUrl('wss://al%40ice:p%3Ass@broker.example:443/prod%2Feu');
  t.equal(target.wsUrl, 'wss://broker.example/');
  t.equal(target.user, 'al@ice');
  t.equal(target.password, 'p:ss');
  t.equal(target.vhost, 'prod/eu');
  t.notMatch(target.displayUrl, /p%3Ass|p:ss/);
  t.match(target.displayUrl, /\*\*\*/);
});

t.test('%2F is the vhost "/"', async (t) => {
  t.equal(parseBrokerUrl('ws://h:1/%2F').vhost, '/');
});

t.test('options win over the URL', async (t) => {
  const target = parseBrokerUrl('ws://u:p@h:1/v', { user: 'x', password: 'y', vhost: 'z' });
  t.same([target.user, target.password, target.vhost], ['x', 'y', 'z']);
});

t.test('IPv6 hosts keep their brackets', async (t) => {
  t.equal(parseBrokerUrl('ws://[::1]:5680').wsUrl, 'ws://[::1]:5680/');
});

t.test('bad URLs throw ERR_INVALID_ARGUMENT', async (t) => {
  for (const url of ['', 'not a url', 'http://127.0.0.1:5680', 'amqp://h:1', 'ws://h:1/v?x=1', 'ws://h:1/#frag', 'ws://h:1/%E0%A4%A']) {
    t.throws(() => parseBrokerUrl(url), { code: 'ERR_INVALID_ARGUMENT' }, url);
  }
  t.throws(() => parseBrokerUrl(42 as unknown as string), { code: 'ERR_INVALID_ARGUMENT' });
});
