// Entry of a `threads` pool runner (node:worker_threads): wires the thread's parent port to the
// shared runner core. Compiled to dist/; the pool starts it from there.
import { parentPort } from 'node:worker_threads';
import { serveRunner } from './runner-core.js';
import type { FromRunner, ToRunner } from './runner-protocol.js';

const port = parentPort;
if (port === null) throw new Error('thread-runner must be started as a worker thread by the threads pool');

serveRunner({
  send: (msg: FromRunner) => port.postMessage(msg),
  onMessage: (handler) => port.on('message', (msg: ToRunner) => handler(msg)),
  // Threads share the process's resident memory, so RSS says nothing about one runner; the heap
  // of this thread's own V8 isolate is the figure that grows with what its tasks keep.
  memory: () => process.memoryUsage().heapUsed,
  // process.exit() inside a worker thread ends the thread only.
  exit: (code) => process.exit(code),
});
