// Entry of a `processes` pool runner (node:child_process.fork, 'advanced' serialization): wires
// the IPC channel to the shared runner core. Compiled to dist/; the pool starts it from there.
import { fstatSync } from 'node:fs';
import { Worker as Thread } from 'node:worker_threads';
import { serveRunner } from './runner-core.js';
import type { FromRunner, ToRunner } from './runner-protocol.js';

if (process.send === undefined) throw new Error('process-runner must be started by the processes pool (it needs an IPC channel)');
const send = process.send.bind(process);

// A runner outlives nothing: when the worker goes away (even by SIGKILL), the channel closes and
// the runner exits instead of lingering as an orphan (and running its task on for nobody).
// process.exit() without a code keeps an exitCode set before (a load error's 1).
process.on('disconnect', () => process.exit());
// 'disconnect' needs this thread's event loop, which a busy task holds; the watchdog thread sees
// the worker's end on the stdin pipe the pool gives each runner, and kills the runner at once.
if (stdinIsPipe()) {
  // Started without inherited flags: a loader the runner has (a test runner's) would cost seconds.
  // It costs the runner about 8 MB (a V8 isolate): the price of never finishing a task for a dead worker.
  const watch = new Thread(new URL('./parent-watch.js', import.meta.url), { execArgv: [], stdout: false, stderr: false });
  // It must never keep the runner alive, nor hold up its exit.
  watch.unref();
  // Nor take the runner down if it fails: 'disconnect' still ends a runner that is not busy.
  watch.on('error', (err) => { process.stderr.write(`celeriac runner ${process.pid}: its watchdog thread failed (${String(err)}); only the IPC channel tells it its worker died\n`); });
}

/** True when fd 0 is the pipe the pool set up (a runner started otherwise has no watchdog). */
function stdinIsPipe(): boolean {
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}

serveRunner({
  send: (msg: FromRunner) => { send(msg); },
  onMessage: (handler) => process.on('message', (msg: ToRunner) => handler(msg)),
  memory: () => process.memoryUsage.rss(),
  exit: (code) => {
    // Closing the channel first lets the last message reach the parent; 'disconnect' then exits.
    process.exitCode = code;
    if (process.connected) process.disconnect();
    else process.exit(code);
  },
});
