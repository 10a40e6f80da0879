// `celeriac queues` (list, delete, purge) through the broker's management HTTP API: as child
// processes (stderr a pipe: no progress line), users with and without the needed tag, a vhost
// given by the URL or -p; some variants in process (main(), the same code without a node start-up
// each: the machine is shared), and in process with a terminal-like stderr for the progress line.
import t from 'tap';
import { main } from '../../client/cli/celeriac.js';
import { connect } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { closedPort, lines, runAll, runCli, uniqueQueue } from './celeriac-helpers.js';

const USERS = [
  { user: 'ops', password: 's3cret', tags: ['administrator' as const] },
  { user: 'mon', password: 'pw', tags: ['monitoring' as const] },
  { user: 'app', password: 'w0rk' },
];
const VHOST = 'team/a';

/** The broker URL with a user's credentials (and a vhost path). */
function withUser(url: string, cred: string, vhostPath = ''): string {
  return `${url.replace('ws://', `ws://${cred}@`)}${vhostPath}`;
}

/** Runs `celeriac ...argv` in this process (main() as the bin calls it), its output collected. */
async function inProcess(argv: string[], terminal = false): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {}, { out: (s) => { out += s; }, err: (s) => { err += s; }, errIsTerminal: terminal, errColumns: 120 });
  return { code, out, err };
}

/** inProcess() with runCli()'s field names. */
async function inProcessRun(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await inProcess(argv);
  return { code: r.code, stdout: r.out, stderr: r.err };
}

t.test('list, refusals, purge and delete as child processes', async (t) => {
  const broker = await startTestBroker(t, { users: USERS, vhosts: ['/', VHOST] });
  const ops = withUser(broker.url, 'ops:s3cret');
  const conn = await connect(ops, { reconnect: false });
  t.teardown(() => conn.close());
  const other = await connect(withUser(broker.url, 'ops:s3cret', '/team%2Fa'), { reconnect: false });
  t.teardown(() => other.close());
  const full = uniqueQueue('cli-q-full');
  const used = uniqueQueue('cli-q-used');
  const doomed = uniqueQueue('cli-q-doomed');
  for (const q of [full, used, doomed]) await conn.assertQueue(q, { durable: true });
  await other.assertQueue(full, { durable: true });
  for (let i = 0; i < 3; i++) await conn.publish('', full, Buffer.from(`m${i}`), { persistent: true });
  for (let i = 0; i < 2; i++) await conn.publish('', doomed, Buffer.from(`d${i}`), { persistent: true });
  await other.publish('', full, Buffer.from('elsewhere'), { persistent: true });
  await conn.consume(used, () => undefined, { prefetch: 1 });

  const [[table, noTag, monPurge, ifEmpty], [json, inVhost, ifUnused]] = await Promise.all([
    runAll([
      () => runCli(t, ['queues', '--broker', ops]),
      () => runCli(t, ['queues', '--broker', withUser(broker.url, 'app:w0rk')]),
      () => runCli(t, ['queues', 'purge', full, '--broker', withUser(broker.url, 'mon:pw')]),
      () => runCli(t, ['queues', 'delete', doomed, '--if-empty', '--broker', ops]),
    ]),
    runAll([
      () => inProcessRun(['queues', 'list', '--json', '--broker', withUser(broker.url, 'mon:pw')]),
      () => inProcessRun(['queues', '-p', VHOST, '--broker', ops]),
      () => inProcessRun(['queues', 'delete', used, '--if-unused', '--broker', ops]),
    ]),
  ]);

  t.equal(table.code, 0, table.stderr);
  const rows = lines(table.stdout);
  t.match(rows[0], /^NAME +VHOST +MESSAGES +READY +UNACKED +DELAYED +CONSUMERS +PUBLISH\/S +DELIVER\/S +ACK\/S$/, 'the header, as rabbitmqctl list_queues');
  t.match(rows.find((r) => r.startsWith(`${full} `) && / \/ /.test(r)), new RegExp(`^${full} +/ +3 +3 +0 +0 +0 +\\d+\\.\\d +\\d+\\.\\d +\\d+\\.\\d$`), 'counts and rates of a queue');
  t.match(rows.find((r) => r.startsWith(`${used} `)), new RegExp(`^${used} +/ +0 +0 +0 +0 +1 `), 'its consumer counted');
  t.match(rows.find((r) => r.startsWith(`${full} `) && r.includes(VHOST)), new RegExp(`^${full} +team/a +1 +1 `), 'every vhost listed');

  t.equal(json.code, 0, json.stderr);
  const listed = JSON.parse(json.stdout) as Array<{ vhost: string; name: string; ready: number; rates: unknown }>;
  t.match(listed.find((q) => q.vhost === '/' && q.name === full), { ready: 3, messages: 3, consumers: 0, rates: { publish: Number, deliver: Number, ack: Number } }, 'a monitoring user lists; --json is the API\'s document');

  t.equal(inVhost.code, 0, inVhost.stderr);
  t.strictSame(lines(inVhost.stdout).slice(1).map((r) => r.split(/ +/).slice(0, 3)), [[full, VHOST, '1']], '-p lists that vhost only');

  t.equal(noTag.code, 1);
  t.equal(noTag.stdout, '');
  t.equal(noTag.stderr, "celeriac: ERR_ACCESS_DENIED: user 'app' has no management tag: give it administrator or monitoring (NAME+monitoring:PASSWORD) to use the HTTP API\n", 'the API\'s 403, one line');
  t.equal(monPurge.code, 1);
  t.equal(monPurge.stderr, "celeriac: ERR_ACCESS_DENIED: user 'mon' (monitoring) may not do this: it needs the administrator tag\n");
  t.equal(monPurge.stdout, '', 'nothing said purged');
  t.equal(ifUnused.code, 1);
  t.match(ifUnused.stderr, /^celeriac: ERR_PRECONDITION_FAILED: [^\n]*\n$/, '--if-unused refuses a queue with a consumer');
  t.equal(ifEmpty.code, 1);
  t.match(ifEmpty.stderr, /^celeriac: ERR_PRECONDITION_FAILED: [^\n]*\n$/, '--if-empty refuses a queue with messages');
  t.equal((await conn.checkQueue(full)).messageCount, 3, 'the refused purge touched nothing');
  t.equal((await conn.checkQueue(doomed)).messageCount, 2, 'nor the refused delete');
  await conn.checkQueue(used);

  const [purged, deleted, purgedThere] = await runAll([
    () => runCli(t, ['queues', 'purge', full, `no-such-${full}`, '--broker', ops]),
    () => inProcessRun(['queues', 'delete', doomed, '--json', '--broker', ops]),
    () => runCli(t, ['queues', 'purge', full, '--json', '--broker', withUser(broker.url, 'ops:s3cret', '/team%2Fa')]),
  ]);
  t.equal(purged.code, 1, 'a missing queue: exit 1, after purging the others');
  t.equal(purged.stdout, `${full}: purged (3 ready messages before)\n`);
  t.equal(purged.stderr, `celeriac: no such queue: no-such-${full} in vhost '/'\n`, 'and no progress line: stderr is not a terminal');
  t.equal(deleted.code, 0, deleted.stderr);
  t.strictSame(JSON.parse(deleted.stdout), { vhost: '/', name: doomed, deleted: true, messagesBefore: 2 });
  t.equal(deleted.stderr, '');
  t.equal(purgedThere.code, 0, purgedThere.stderr);
  t.strictSame(JSON.parse(purgedThere.stdout), { purged: [{ vhost: VHOST, name: full, readyBefore: 1 }], missing: [] }, 'the vhost from the URL (%2F-encoded)');

  t.equal((await conn.checkQueue(full)).messageCount, 0, 'purged');
  t.equal((await other.checkQueue(full)).messageCount, 0, 'purged in the other vhost too');
  await t.rejects(conn.checkQueue(doomed), { code: 'ERR_NOT_FOUND' }, 'deleted');

  // Last, in this process: a failed login slows its address down for the logins after it.
  const wrongPassword = await inProcess(['queues', '--broker', withUser(broker.url, 'ops:wrong')]);
  t.equal(wrongPassword.code, 1);
  t.match(wrongPassword.err, /^celeriac: ERR_ACCESS_REFUSED: login refused for user 'ops'[^\n]*\n$/, 'a wrong password: the API\'s 401, one line');
});

t.test('bad usage (exit 2) and an unreachable broker (exit 1), in process', async (t) => {
  const url = `ws://127.0.0.1:${await closedPort()}`;
  const unreachable = await inProcess(['queues', '--broker', url]);
  t.equal(unreachable.code, 1);
  t.match(unreachable.err, /^celeriac: broker unreachable: cannot reach http:\/\/127\.0\.0\.1:\d+\/api\/queues: ECONNREFUSED\n$/);
  const usage: Array<[string[], string]> = [
    [['queues', 'frob'], "queues: no such action 'frob'; one of list, delete, purge"],
    [['queues', 'delete'], 'queues delete needs the queue name'],
    [['queues', 'delete', 'a', 'b'], 'queues delete takes one queue; unexpected: b'],
    [['queues', 'purge'], 'queues purge needs the queue names'],
    [['queues', 'purge', 'a', '--if-empty'], '--if-empty and --if-unused go with delete, not purge'],
    [['queues', 'list', 'a'], 'queues list takes no arguments; unexpected: a'],
    [['queues', '--timeout', 'soon'], "--timeout expects a duration"],
    [['queues', '--broker', 'amqp://guest:guest@127.0.0.1:5672'], 'ws://'],
  ];
  for (const [argv, message] of usage) {
    const r = await inProcess([...argv, ...(argv.includes('--broker') ? [] : ['--broker', url])]);
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.err, message);
    t.equal(r.out, '');
  }
});

t.test('on a terminal, a purge and a delete show a progress line on stderr and erase it', async (t) => {
  const broker = await startTestBroker(t, { users: USERS });
  const ops = withUser(broker.url, 'ops:s3cret');
  const conn = await connect(ops, { reconnect: false });
  t.teardown(() => conn.close());
  const q = uniqueQueue('cli-q-progress');
  await conn.assertQueue(q, { durable: true });
  await Promise.all(Array.from({ length: 1500 }, (_, i) => conn.publish('', q, Buffer.from(`p${i}`), { persistent: true })));

  const run = (argv: string[]): Promise<{ code: number; out: string; err: string }> => inProcess(argv, true);
  const purged = await run(['queues', 'purge', q, '--broker', ops]);
  t.equal(purged.code, 0, purged.err);
  t.equal(purged.out, `${q}: purged (1,500 ready messages before)\n`, 'the result on stdout');
  t.match(purged.err, new RegExp(`^\\r\\x1b\\[K⠋ purging queue ${q} — 1,500 ready messages left \\(0\\.\\ds\\)`), 'the first frame: what, the count left, the time');
  t.ok(purged.err.endsWith('\r\x1b[K'), 'the line erased at the end');
  t.notOk(purged.err.includes('\n'), 'drawn in place: no new lines');

  await conn.publish('', q, Buffer.from('last'), { persistent: true });
  const deleted = await run(['queues', 'delete', q, '--broker', ops]);
  t.equal(deleted.code, 0, deleted.err);
  t.equal(deleted.out, `${q}: deleted (1 message before)\n`);
  t.match(deleted.err, new RegExp(`^\\r\\x1b\\[K⠋ deleting queue ${q} — 1 message left`));
  t.ok(deleted.err.endsWith('\r\x1b[K'));
});
