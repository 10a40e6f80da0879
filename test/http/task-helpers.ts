// Shared setup of the task-level API tests: a broker with an administrator, a monitoring user and
// a worker-only user, apps logged in as the administrator over WebSocket, workers closed at teardown.
import type { Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { Celeriac, type SettingsInput, type Worker, type WorkerOptions } from '../../client/index.js';
import type { Broker, BrokerOptions } from '../../server/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { basic } from '../helpers/http.js';

export const USERS = [
  { user: 'admin', password: 'adm1n', tags: ['administrator' as const] },
  { user: 'eye', password: 'w4tch', tags: ['monitoring' as const] },
];
export const ADMIN = basic('admin', 'adm1n');
export const EYE = basic('eye', 'w4tch');

/** A name no other test uses. */
export const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export interface TaskApiEnv {
  broker: Broker;
  /** The broker URL with the administrator's credentials. */
  url: string;
  /** An app on the broker, closed at teardown. */
  newApp(settings?: SettingsInput): Celeriac;
  /** Starts a worker of `app` sending task events, closed at teardown. */
  startWorker(app: Celeriac, options?: WorkerOptions): Promise<Worker>;
}

/** A broker with USERS (plus `options`) and helpers to run apps and workers on it. */
export async function taskApiEnv(t: Test, options: BrokerOptions = {}): Promise<TaskApiEnv> {
  const broker = await startTestBroker(t, { users: USERS, ...options });
  const url = `ws://admin:adm1n@${broker.url.slice('ws://'.length)}`;
  const apps: Celeriac[] = [];
  const workers: Worker[] = [];
  t.teardown(async () => {
    await Promise.all(workers.map((w) => w.close({ force: true }).catch(() => undefined)));
    await Promise.all(apps.map((a) => a.close()));
  });
  return {
    broker,
    url,
    newApp(settings = {}) {
      const app = new Celeriac({ broker: url, workerConcurrency: 2, ...settings });
      apps.push(app);
      return app;
    },
    async startWorker(app, options = {}) {
      const w = app.worker({ log: () => undefined, sendEvents: true, ...options });
      workers.push(w);
      await w.start();
      return w;
    },
  };
}
