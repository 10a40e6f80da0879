// The homes the conformance suite runs in: each gives a test file a broker URL and a result-backend
// URL, with its servers started for that file and stopped by its teardown. Adding a home is one entry.
// This module stays light (no client or server code): a test file imports it alone, so the homes'
// servers start before the heavy modules are loaded (see runInEveryHome).
import t, { type Test } from 'tap';
import { startRabbit } from '../helpers/rabbitmq.js';
import { startRedis } from '../helpers/redis.js';

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

/** The homes each topic file (calling-results, canvas, ...) runs its scenarios in. */
export const HOMES: readonly Home[] = [
  {
    // broker-server serves both contracts over one connection: one URL for both settings.
    name: 'broker-server',
    async start(t) {
      // Imported here, not above: the server's modules take seconds to load on a busy machine,
      // and the other homes' boots should not wait for them.
      const { startTestBroker } = await import('../helpers/broker.js');
      const broker = await startTestBroker(t);
      return { broker: broker.url, resultBackend: broker.url };
    },
  },
  {
    // The seed's production pair: RabbitMQ as the broker (the AMQP transport), Redis keeping results.
    name: 'rabbitmq+redis',
    async start(t) {
      const [rabbit, redis] = await Promise.all([startRabbit(t), startRedis(t)]);
      return { broker: rabbit.url, resultBackend: redis.url };
    },
  },
];

/**
 * broker-server's AMQP 0-9-1 listener as the broker (the AMQP transport, as against RabbitMQ) with
 * Redis keeping results: celeriac's AMQP transport on the listener (issue 12). In files of its own
 * (listener-*.test.ts), so the files that boot a RabbitMQ do not grow by a third home.
 */
export const LISTENER_HOMES: readonly Home[] = [
  {
    name: 'broker-server-amqp+redis',
    async start(t) {
      const { startTestBroker } = await import('../helpers/broker.js');
      const [broker, redis] = await Promise.all([startTestBroker(t, { amqpPort: 0 }), startRedis(t)]);
      if (broker.amqpUrl === undefined) throw new Error('broker-server started without its AMQP listener');
      return { broker: broker.amqpUrl, resultBackend: redis.url };
    },
  },
];

/**
 * A check of the task layer through its public API (Celeriac app, tasks, worker), given only the
 * home's URLs, so it runs unchanged in every home. Its own queue and task names; its apps and
 * workers closed by `t`'s teardown.
 */
export type Scenario = (t: Test, home: HomeUrls) => Promise<void>;

/** A module of scenarios (`scenarios/*.ts`): its `scenarios`, run in their order. */
export interface ScenarioModule {
  readonly scenarios: Readonly<Record<string, Scenario>>;
}

/**
 * Runs the scenarios of `modules` (in the order given) in every home: a subtest per home, holding
 * a subtest per scenario, in order. Every home's servers start first, at once, when this is
 * called; the scenario modules are imported after that, so a slow boot (RabbitMQ takes 5-20 s)
 * overlaps their loading (the client's and server's modules: seconds on a busy machine). The homes
 * then run side by side, each as soon as its servers are up: scenarios spend their time waiting
 * on servers, timers and child processes, not on this process, and never share names, so neither
 * home's scenarios see the other's. The servers stop when the file ends, whatever the scenarios did.
 */
export function runInEveryHome(...modules: Array<() => Promise<ScenarioModule>>): void {
  runInHomes(HOMES, ...modules);
}

/** As runInEveryHome, in the homes given. */
export function runInHomes(homes: readonly Home[], ...modules: Array<() => Promise<ScenarioModule>>): void {
  const starts = homes.map((home) => {
    const started = home.start(t);
    // Awaited by the home's subtest; this only keeps a failed start from being an unhandled rejection meanwhile.
    started.catch(() => undefined);
    return started;
  });
  const loaded = Promise.all(modules.map((load) => load()))
    .then((ms) => ms.flatMap((m) => Object.entries(m.scenarios)));
  loaded.catch(() => undefined);
  // Side by side: tap buffers each home's output and prints it whole when the home is done.
  t.jobs = Math.max(t.jobs, homes.length);
  homes.forEach((home, i) => {
    t.test(home.name, async (t) => {
      const [urls, scenarios] = await Promise.all([starts[i]!, loaded]);
      for (const [name, scenario] of scenarios) await t.test(name, (st) => scenario(st, urls));
    });
  });
}
