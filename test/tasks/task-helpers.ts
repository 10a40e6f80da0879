// Shared setup of task-layer tests: a broker on port 0 and an app bound to it, both closed by
// the test's teardown; workers started here are closed (warm) by the teardown too.
import type { Test } from 'tap';
import { Celeriac, type SettingsInput, type Worker, type WorkerOptions } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import type { Broker } from '../../server/index.js';

export interface TaskEnv {
  broker: Broker;
  app: Celeriac;
  /** A second app on the same broker (a worker process of its own, as far as the broker knows). */
  newApp(settings?: SettingsInput): Celeriac;
  /** Starts a worker of `app`, closed at teardown. */
  startWorker(app: Celeriac, options?: WorkerOptions): Promise<Worker>;
}

/** Collects log lines of a worker for assertions. */
export function captureLog(): { lines: string[]; log: NonNullable<WorkerOptions['log']> } {
  const lines: string[] = [];
  return { lines, log: (level, message) => lines.push(`${level}: ${message}`) };
}

export async function taskEnv(t: Test, settings: SettingsInput = {}, brokerOptions: Parameters<typeof startTestBroker>[1] = {}): Promise<TaskEnv> {
  const broker = await startTestBroker(t, brokerOptions);
  const apps: Celeriac[] = [];
  const workers: Worker[] = [];
  const newApp = (more: SettingsInput = {}): Celeriac => {
    const app = new Celeriac({ broker: broker.url, workerConcurrency: 2, ...settings, ...more });
    apps.push(app);
    return app;
  };
  // Teardowns run in reverse order: workers first, then apps, then (registered earlier) the broker.
  t.teardown(async () => {
    await Promise.all(workers.map((w) => w.close({ force: true }).catch(() => undefined)));
    await Promise.all(apps.map((a) => a.close()));
  });
  return {
    broker,
    app: newApp(),
    newApp,
    async startWorker(app, options = {}) {
      const w = app.worker({ log: () => undefined, ...options });
      workers.push(w);
      await w.start();
      return w;
    },
  };
}
