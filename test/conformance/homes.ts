// The homes the conformance suite runs in: each gives a test file a broker URL and a result-backend
// URL, with its servers started for that file and stopped by its teardown. Adding a home is one entry.
import t, { type Test } from 'tap';
import { startTestBroker } from '../helpers/broker.js';

/** Where a scenario's apps point: Celeriac's `broker` and `resultBackend` settings, nothing else. */
export interface HomeUrls {
  readonly broker: string;
  readonly resultBackend: string;
}

/** A deployment the task layer must behave the same on. */
export interface Home {
  /** Names the home in test output and in docs/conformance.md. */
  readonly name: string;
  /**
   * Starts the home's servers for one test file (one of each, however many scenarios the file
   * holds) and registers their stop on `t`'s teardown.
   */
  start(t: Test): Promise<HomeUrls>;
}

/** Every home: each conformance file runs all its scenarios in each of them. */
export const HOMES: readonly Home[] = [
  {
    // broker-server serves both contracts over one connection: one URL for both settings.
    name: 'broker-server',
    async start(t) {
      const broker = await startTestBroker(t);
      return { broker: broker.url, resultBackend: broker.url };
    },
  },
];

/**
 * A check of the task layer through its public API (Celeriac app, tasks, worker), given only the
 * home's URLs, so it runs unchanged in every home. Its own queue and task names; its apps and
 * workers closed by `t`'s teardown.
 */
export type Scenario = (t: Test, home: HomeUrls) => Promise<void>;

/**
 * Runs `scenarios` in every home: a subtest per home, holding a subtest per scenario, in order.
 * Every home's servers start at once when this is called, so a slow boot (RabbitMQ takes seconds)
 * overlaps the scenarios of the homes before it; they stop when the file ends.
 */
export function runInEveryHome(scenarios: Readonly<Record<string, Scenario>>): void {
  for (const home of HOMES) {
    const started = home.start(t);
    // Awaited by the home's subtest; this only keeps a failed start from being an unhandled rejection meanwhile.
    started.catch(() => undefined);
    t.test(home.name, async (t) => {
      const urls = await started;
      for (const [name, scenario] of Object.entries(scenarios)) await t.test(name, (st) => scenario(st, urls));
    });
  }
}
