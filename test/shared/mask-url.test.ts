// Passwords never reach banners, messages or inspect stats: one masking rule for every URL setting.
import t from 'tap';
import { maskUrlPassword } from '../../shared/mask-url.js';

t.test('the password of a URL is masked, the rest kept', async (t) => {
  t.equal(maskUrlPassword('amqp://user:s3cret@host:5672/vh'), 'amqp://user:***@host:5672/vh');
  t.equal(maskUrlPassword('redis://:s3cret@127.0.0.1:6379/0'), 'redis://:***@127.0.0.1:6379/0', 'a password without a user');
  t.equal(maskUrlPassword('ws://guest:guest@127.0.0.1:1'), 'ws://guest:***@127.0.0.1:1');
});

t.test('a URL without a password is unchanged', async (t) => {
  for (const url of ['ws://127.0.0.1:8080', 'amqp://user@host', 'redis://host:6379/1']) t.equal(maskUrlPassword(url), url);
});

t.test('each URL of a failover list is masked', async (t) => {
  t.equal(maskUrlPassword('amqp://a:p1@h1:1;amqp://b:p2@h2:2; amqp://c:p3@h3:3'), 'amqp://a:***@h1:1;amqp://b:***@h2:2; amqp://c:***@h3:3');
});
