// The real `broker-server` command as a child process: --help, -h, --version, and bad flags as one
// line with a usage hint and exit 2 (apart from broker-server.test.ts so neither file runs long on a
// busy machine).
import t from 'tap';
import { finished, lines, start } from './broker-server-helpers.js';

t.test('--help lists every flag and exits 0', async (t) => {
  const done = await finished(start(t, ['--help']));
  t.equal(done.code, 0);
  for (const flag of ['--port', '--host', '--data', '--memory', '--user', '--users-file', '--handshake-timeout', '--max-connections', '--max-connections-per-address', '--durability', '--vhost', '--max-message-size', '--max-body-size', '--heartbeat', '--memory-high-watermark', '--store-high-watermark', '--help']) {
    t.match(done.stdout, flag);
  }
  t.match(done.stdout, 'CELERIAC_PORT');
  t.match(done.stdout, 'default: 5680');
});

t.test('-h is --help', async (t) => {
  const [short, long] = await Promise.all([finished(start(t, ['-h'])), finished(start(t, ['--help']))]);
  t.equal(short.code, 0);
  t.equal(short.stdout, long.stdout, 'the same text');
  t.equal(short.stderr, '');
});

t.test('--version prints the version and exits 0', async (t) => {
  const done = await finished(start(t, ['--version']));
  t.equal(done.code, 0);
  t.match(done.stdout, /^celeriac \d+\.\d+\.\d+/);
});

t.test('bad flags: one line with a usage hint, exit 2', async (t) => {
  for (const args of [['--port', 'nope'], ['--bogus'], ['--durability', 'lazy'], ['--max-body-size', 'huge']]) {
    const done = await finished(start(t, args));
    t.equal(done.code, 2, `${args.join(' ')}: exit 2`);
    t.equal(lines(done.stderr).length, 1, `${args.join(' ')}: one line`);
    t.match(done.stderr, /^broker-server: .*\(see broker-server --help\)\n$/);
    t.equal(done.stdout, '');
  }
});
