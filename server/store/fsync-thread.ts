// A thread of the store's own that runs fsync, so a confirm never waits in libuv's shared pool
// behind password hashing, DNS or file reads: fs.fsync() would queue there; this never does.
import { Worker } from 'node:worker_threads';

// The worker's whole program. It fsyncs descriptors of the main thread's (descriptors belong to
// the process, so the number is enough) one request at a time, in the order they were posted; a
// request names one or more descriptors, and fails at the first that fails.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
parentPort.on('message', (req) => {
  let error = null;
  try {
    for (const fd of req.fds) fs.fsyncSync(fd);
  } catch (err) {
    error = { message: String(err && err.message || err), code: err && err.code };
  }
  parentPort.postMessage({ id: req.id, error });
});
`;

interface Reply {
  id: number;
  error: { message: string; code?: string } | null;
}

type Done = (err: Error | null) => void;

/**
 * One worker thread doing fsyncs in request order. Started when built so the first confirm does
 * not wait for a thread to boot; restarted on the next request if it ever dies. unref'd: it never
 * keeps the process alive on its own.
 */
export class FsyncThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Done>();
  private seq = 0;
  private closed = false;

  constructor() {
    this.start();
  }

  /** fsyncs `fds` on the thread, in order; `done` runs on the event loop afterwards. */
  fsync(fds: readonly number[], done: Done): void {
    if (this.closed) {
      done(new Error('fsync thread is closed'));
      return;
    }
    const worker = this.worker ?? this.start();
    const id = ++this.seq;
    this.pending.set(id, done);
    worker.postMessage({ id, fds });
  }

  /** Stops the thread; requests still in flight get an error. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.failPending(new Error('fsync thread closed before the fsync finished'));
    void worker?.terminate();
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: 'celeriac-fsync', execArgv: [] });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const done = this.pending.get(reply.id);
      if (done === undefined) return;
      this.pending.delete(reply.id);
      if (reply.error === null) return done(null);
      done(Object.assign(new Error(reply.error.message), reply.error.code === undefined ? {} : { code: reply.error.code }));
    });
    const lost = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failPending(new Error(`fsync thread ${why}`));
    };
    worker.on('error', (err) => lost(`failed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited (code ${code})`));
    this.worker = worker;
    return worker;
  }

  private failPending(err: Error): void {
    const dones = [...this.pending.values()];
    this.pending.clear();
    for (const done of dones) done(err);
  }
}
