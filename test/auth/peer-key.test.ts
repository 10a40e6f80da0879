// Which peers share a per-address limit: one IPv4 address, or one IPv6 /64.
import t from 'tap';
import { peerKey } from '../../server/auth/peer-key.js';

t.test('IPv4, plain or mapped into IPv6, is its own key', async (t) => {
  t.equal(peerKey('192.0.2.7'), '192.0.2.7');
  t.equal(peerKey('::ffff:192.0.2.7'), '192.0.2.7');
  t.equal(peerKey('::FFFF:127.0.0.1'), '127.0.0.1');
});

t.test('IPv6 addresses of one /64 share a key', async (t) => {
  t.equal(peerKey('2001:db8:1:2:a:b:c:d'), '2001:db8:1:2::/64');
  t.equal(peerKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  t.equal(peerKey('2001:0db8:0001:0002:ffff::9%eth0'), '2001:db8:1:2::/64', 'zero-padded, with a zone');
  t.equal(peerKey('2001:db8::1'), '2001:db8:0:0::/64');
  t.not(peerKey('2001:db8:1:3::1'), peerKey('2001:db8:1:2::1'), 'another /64');
  t.equal(peerKey('::1'), '0:0:0:0::/64');
});

t.test('no address, or one that does not parse', async (t) => {
  t.equal(peerKey(undefined), 'unknown');
  t.equal(peerKey(''), 'unknown');
  t.equal(peerKey('1:2:3'), '1:2:3');
  t.equal(peerKey('1::2::3'), '1::2::3');
});
