// A `processes` worker killed by SIGKILL takes its runners with it at once, even a runner whose
// task holds its event loop (so its IPC 'disconnect' cannot fire): none goes on to finish a task
// the broker has already given to another worker.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac } from '../../client/index.js';
import { startWorker, uniqueQueue } from '../cli/celeriac-helpers.js';
import { startTestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';

/** True while `pid` runs. A zombie (ended, waiting for init to reap it) has ended. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; Z = ended, not reaped yet.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc (not Linux): kill(pid, 0) is the answer
  }
}

t.test('SIGKILL of a processes worker: its busy runner ends at once and finishes nothing', async (t) => {
  const broker = await startTestBroker(t);
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-orphan-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const q = uniqueQueue('orphan');
  const app = new Celeriac({ broker: broker.url });
  t.teardown(() => app.close());

  // The runners inherit tap's TypeScript loader through the environment; plain JS needs none of it.
  const w = await startWorker(t, ['-A', './record-tasks.mjs', '--broker', broker.url, '-Q', q, '-P', 'processes', '-c', '1'], { env: { TAP_TYPE_STRIP_ONLY: '1' } });
  // The task holds its runner's event loop for 2.5 s, then writes its marker.
  await app.sendTask('record.busy', [dir, 'busy', 2_500], { queue: q });
  await until(() => existsSync(join(dir, 'busy.pid')), 20_000, 'the task to start in its runner');
  const runner = Number(readFileSync(join(dir, 'busy.pid'), 'utf8'));
  // A runner that outlives the test (the bug this guards against) is ended by its pid.
  t.teardown(() => { if (alive(runner)) process.kill(runner, 'SIGKILL'); });
  t.not(runner, w.child.pid, 'the runner is a process of its own');

  w.child.kill('SIGKILL');
  await until(() => !alive(runner), 5_000, 'the runner to end with its worker');
  t.notOk(existsSync(join(dir, 'busy.finished')), 'it did not finish its task');
});
