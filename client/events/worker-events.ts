// A worker's events on the events exchange: its local task events (when task events are on) and,
// as Celery does always, worker-online at start, worker-heartbeat every interval, worker-offline.
import { loadavg } from 'node:os';
import type { Worker, WorkerEvents } from '../worker/worker.js';
import { EventPublisher, declareEvents } from './publisher.js';

/** Celery's default worker heartbeat interval: 2 s. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2_000;

export interface WorkerEventOptions {
  /** Publish task events (received, started, succeeded, ...). */
  taskEvents: boolean;
  /** worker-heartbeat interval, ms; 0 = no heartbeats. */
  heartbeatInterval: number;
}

const TASK_EVENTS = ['task-received', 'task-started', 'task-succeeded', 'task-failed', 'task-retried', 'task-revoked', 'task-rejected'] as const satisfies readonly (keyof WorkerEvents)[];

/**
 * Publishes `worker`'s events; call once its connection is up. Resolves with a detach function
 * that stops the heartbeat and the forwarding (worker-offline is sent by then).
 */
export async function attachWorkerEvents(worker: Worker, options: WorkerEventOptions): Promise<() => Promise<void>> {
  const conn = worker.connection;
  await declareEvents(conn);
  const pub = new EventPublisher(worker.hostname, () => Promise.resolve(conn), (m) => worker.log('warn', m));
  const freq = options.heartbeatInterval / 1000;
  const workerFields = (): Record<string, unknown> => {
    let processed = 0;
    for (const n of worker.totals.values()) processed += n;
    const [a = 0, b = 0, c = 0] = loadavg();
    return {
      freq, active: worker.activeCount, processed, loadavg: [round2(a), round2(b), round2(c)],
      sw_ident: 'celeriac', sw_sys: process.platform, pool: worker.poolName, concurrency: worker.concurrency, queues: [...worker.queues],
    };
  };
  const offs: Array<() => void> = [];
  const on = <K extends keyof WorkerEvents>(type: K, listener: (...args: WorkerEvents[K]) => void): void => {
    worker.on(type as keyof WorkerEvents, listener as never);
    offs.push(() => worker.off(type as keyof WorkerEvents, listener as never));
  };
  if (options.taskEvents) {
    for (const type of TASK_EVENTS) on(type, (fields) => pub.send(type, fields));
  }
  let timer: NodeJS.Timeout | undefined;
  on('worker-online', () => {
    pub.send('worker-online', workerFields());
    if (options.heartbeatInterval > 0 && timer === undefined) {
      timer = setInterval(() => pub.send('worker-heartbeat', workerFields()), options.heartbeatInterval);
      timer.unref();
    }
  });
  on('worker-offline', () => {
    clearInterval(timer);
    pub.send('worker-offline', workerFields());
  });
  return async () => {
    clearInterval(timer);
    for (const off of offs) off();
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
