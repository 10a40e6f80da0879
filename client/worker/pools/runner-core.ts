// The inside of an isolated runner, shared by the thread and the process entry: loads the app
// module once, then runs one job at a time with runTask and reports each outcome and its memory.
import { serializeError } from '../../results/remote-error.js';
import type { TaskRegistry } from '../../tasks/definition.js';
import type { PoolOutcome } from '../pool-types.js';
import { LazyAbort } from '../lazy-abort.js';
import { runTask } from '../run-task.js';
import { abortReason, unknownTaskError } from './pool-errors.js';
import { loadApp } from './load-app.js';
import type { RunnerPort, ToRunner } from './runner-protocol.js';

/** Serves the parent's messages on `port` until told to stop. */
export function serveRunner(port: RunnerPort): void {
  let app: TaskRegistry | null = null;
  let current: { jobId: number; controller: LazyAbort } | null = null;
  let stopping = false;

  const handlers: { [K in ToRunner['type']]: (msg: Extract<ToRunner, { type: K }>) => void } = {
    init(msg) {
      loadApp(msg.appModule).then(
        (loaded) => {
          app = loaded;
          // Told to stop while loading (the pool closed meanwhile): the channel may be gone already.
          if (!stopping) port.send({ type: 'ready', taskNames: loaded.taskNames() });
        },
        (err: unknown) => {
          if (!stopping) port.send({ type: 'load-error', error: serializeError(err) });
          port.exit(1);
        },
      );
    },
    run(msg) {
      const controller = new LazyAbort();
      current = { jobId: msg.jobId, controller };
      const def = app?.getTask(msg.job.taskName);
      const running: Promise<PoolOutcome> = def === undefined
        ? Promise.resolve({ status: 'failure', error: unknownTaskError(msg.job) })
        : runTask(def, msg.job, controller);
      void running.then((outcome) => {
        current = null;
        report(msg.jobId, outcome);
        if (stopping) port.exit(0);
      });
    },
    abort(msg) {
      if (current !== null && current.jobId === msg.jobId) current.controller.abort(abortReason(msg.name, msg.message));
    },
    stop() {
      stopping = true;
      if (current === null) port.exit(0);
    },
  };

  function report(jobId: number, outcome: PoolOutcome): void {
    try {
      port.send({ type: 'done', jobId, outcome, memory: port.memory() });
    } catch (err) {
      // The task returned something that cannot cross to the worker (a function, a socket...).
      const error = serializeError(err);
      error.message = `the task's result cannot be sent to the worker: ${error.message}`;
      port.send({ type: 'done', jobId, outcome: { status: 'failure', error }, memory: port.memory() });
    }
  }

  port.onMessage((msg) => {
    (handlers[msg.type] as (m: ToRunner) => void)(msg);
  });
}
