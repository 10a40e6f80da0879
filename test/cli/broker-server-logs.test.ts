// broker-server's log as a child process writes it: text a client sends (a refused user name, an
// error frame) cannot forge a line, and --log-format json writes one parsable object per line.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { OP } from '../../shared/opcodes.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/wait.js';
import { spawnScript, within, type Run } from './process-helpers.js';

const CLI = fileURLToPath(new URL('../../dist/server/cli/broker-server.js', import.meta.url));
const WAIT_MS = 20_000;
const FORGED_USER = 'x\nFAKE LINE user';
const FORGED_ERROR = 'boom\r\nFAKE LINE error\x1b[2K';

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/** Starts broker-server on a free port in memory; resolves its ws URL once `url` finds it in stdout. */
async function startBroker(t: Test, args: string[], url: (stdout: string) => string | undefined): Promise<{ run: Run; ws: string }> {
  const run = spawnScript(t, CLI, ['--port', '0', '--memory', ...args], { cwd: tmpdir() });
  let ws: string | undefined;
  const exited = run.exited.then(({ code, signal }) => { throw new Error(`exited (${code ?? signal}) before listening:\n${run.stdout()}${run.stderr()}`); });
  await Promise.race([until(() => (ws = url(run.stdout())) !== undefined, WAIT_MS, 'broker-server listening'), exited]);
  return { run, ws: ws! };
}

/** A refused hello with a newline in its user name, and an error frame with one in its message. */
async function sendForgeries(t: Test, ws: string): Promise<void> {
  const refused = await RawClient.open(ws);
  t.teardown(() => refused.close());
  const reply = await refused.hello({ user: FORGED_USER, password: 'nope' });
  t.match(reply, { op: OP.error, code: 'ERR_ACCESS_REFUSED' }, 'the forged user is refused');
  const peer = await RawClient.connect(ws);
  t.teardown(() => peer.close());
  peer.send({ op: OP.error, id: 0, code: 'ERR_PEER\nFAKE LINE code', message: FORGED_ERROR });
}

/** Waits until both log lines were written, then stops the broker with SIGINT. */
async function stop(run: Run): Promise<{ stdout: string; stderr: string }> {
  await until(() => run.stdout().includes('login refused') && run.stderr().includes('reported'), WAIT_MS, 'the refusal and the peer error in the log');
  run.child.kill('SIGINT');
  const { code } = await within(run.exited, WAIT_MS, 'broker-server exiting');
  if (code !== 0) throw new Error(`exit code ${code}`);
  return { stdout: run.stdout(), stderr: run.stderr() };
}

t.test('text: a newline from a client never starts a line of its own', async (t) => {
  const { run, ws } = await startBroker(t, [], (out) => /listening on (ws:\/\/\S+)/.exec(out)?.[1]);
  await sendForgeries(t, ws);
  const { stdout, stderr } = await stop(run);
  const all = [...lines(stdout), ...lines(stderr)];
  t.same(all.filter((l) => l.startsWith('FAKE')), [], 'no forged line');
  t.ok(all.some((l) => l.includes("login refused for user 'x\\nFAKE LINE user'")), 'the refused name, escaped, on its one line');
  t.ok(all.some((l) => l.startsWith('broker-server: warn: ') && l.includes('ERR_PEER\\nFAKE LINE code') && l.includes('boom\\r\\nFAKE LINE error\\x1b[2K')), 'the error frame, escaped');
  t.notMatch(stdout + stderr, /[\r\x1b]/, 'no raw carriage return or escape reaches the terminal');
});

t.test('--log-format json: every line is one object with time, level and msg', async (t) => {
  const { run, ws } = await startBroker(t, ['--log-format', 'json'], (out) => {
    for (const l of lines(out)) {
      const rec = JSON.parse(l) as { url?: string };
      if (rec.url !== undefined) return rec.url;
    }
    return undefined;
  });
  await sendForgeries(t, ws);
  const { stdout, stderr } = await stop(run);
  const records: { stream: string; rec: Record<string, unknown> }[] = [];
  for (const [stream, text] of [['stdout', stdout], ['stderr', stderr]] as const) {
    for (const l of lines(text)) {
      let rec: unknown;
      try { rec = JSON.parse(l); } catch { t.fail(`${stream} line is not JSON: ${JSON.stringify(l)}`); continue; }
      records.push({ stream, rec: rec as Record<string, unknown> });
    }
  }
  for (const { stream, rec } of records) {
    t.ok(typeof rec.time === 'string' && !Number.isNaN(Date.parse(rec.time)), `${stream}: an ISO time`);
    t.ok(stream === 'stdout' ? rec.level === 'info' : rec.level === 'warn' || rec.level === 'error', `${stream}: level ${String(rec.level)}`);
    t.type(rec.msg, 'string');
  }
  const msgs = records.map(({ rec }) => rec.msg as string);
  const listening = records.find(({ rec }) => (rec.msg as string).startsWith('celeriac broker listening'))!.rec;
  t.match(listening, { url: ws, httpUrl: /^http:\/\//, data: ':memory:', durability: 'full' }, 'the listening line has its fields');
  t.ok(msgs.some((m) => m.includes("login refused for user 'x\\nFAKE LINE user'")), 'the refusal, escaped as in text');
  t.ok(msgs.some((m) => m.includes('boom\\r\\nFAKE LINE error\\x1b[2K')), 'the error frame, escaped as in text');
  t.ok(msgs.some((m) => m.startsWith('celeriac broker shutting down')), 'shutdown logged as json too');
});
