// Entry of a `processes` pool runner (node:child_process.fork, 'advanced' serialization): wires
// the IPC channel to the shared runner core. Compiled to dist/; the pool starts it from there.
import { serveRunner } from './runner-core.js';
import type { FromRunner, ToRunner } from './runner-protocol.js';

if (process.send === undefined) throw new Error('process-runner must be started by the processes pool (it needs an IPC channel)');
const send = process.send.bind(process);

// A runner outlives nothing: when the worker goes away (even by SIGKILL), the channel closes and
// the runner exits instead of lingering as an orphan.
// process.exit() without a code keeps an exitCode set before (a load error's 1).
process.on('disconnect', () => process.exit());

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
