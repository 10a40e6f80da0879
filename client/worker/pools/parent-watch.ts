// A watchdog thread inside each `processes` pool runner: ends the runner the moment its worker
// dies, even while a task keeps the runner's main thread busy. The worker holds the other end of
// the runner's stdin pipe and never writes to it; when the worker process ends — by SIGKILL too —
// the kernel closes that end and this thread reads end-of-file on its own event loop.
import { Socket } from 'node:net';

const stdin = new Socket({ fd: 0, readable: true, writable: false });
// Nothing is ever sent; anything that is, is ignored.
stdin.on('data', () => undefined);
// SIGKILL, not process.exit(): exit from a worker thread ends the thread only, and the runner's
// main thread may be in the middle of a task that must not run on now that its worker is gone.
const die = (): void => { process.kill(process.pid, 'SIGKILL'); };
stdin.once('end', die);
stdin.once('close', die);
stdin.once('error', die);
