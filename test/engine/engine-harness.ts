// Test harness for the engine without sockets: a real SQLite store, a recording sink.
import type { Test } from 'tap';
import { createEngine, type Delivery, type EngineApi, type EngineConnection } from '../../server/engine/index.js';
import { openSqliteStore, type BrokerStore } from '../../server/store/index.js';

export interface RecordingSink {
  deliveries: Delivery[];
  cancelled: [string, string][];
  flows: boolean[];
  writable: boolean;
}

export interface Harness {
  engine: EngineApi;
  store: BrokerStore;
  connect(vhost?: string): { conn: EngineConnection; sink: RecordingSink };
  publish(conn: EngineConnection, exchange: string, key: string, body: string, props?: Record<string, unknown>, mandatory?: boolean): Promise<void>;
  close(): Promise<void>;
}

let seq = 0;

export function openHarness(t: Test, file = ':memory:', extra: { pagingThreshold?: number; memoryHighWatermark?: number; memoryLowWatermark?: number } = {}): Harness {
  const store = openSqliteStore({ file, durability: 'full' });
  const engine = createEngine({ store, ...extra });
  let closed = false;
  const h: Harness = {
    engine,
    store,
    connect(vhost = '/') {
      const sink: RecordingSink = { deliveries: [], cancelled: [], flows: [], writable: true };
      const conn = engine.openConnection({ id: `c${++seq}`, vhost, user: 'guest', client: 'test', peer: '127.0.0.1' }, {
        writable: () => sink.writable,
        deliver: (d) => sink.deliveries.push(d),
        consumerCancelled: (tag, reason) => sink.cancelled.push([tag, reason]),
        flow: (active) => sink.flows.push(active),
      });
      return { conn, sink };
    },
    publish(conn, exchange, key, body, props, mandatory = false) {
      return new Promise((resolve, reject) => {
        engine.publish(conn, exchange, key, Buffer.from(body), props as never, mandatory, (err) => (err === null ? resolve() : reject(err)));
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await engine.close();
      store.close();
    },
  };
  t.teardown(() => h.close());
  return h;
}

export { until } from '../helpers/wait.js';

export const text = (d: { body: Uint8Array }): string => Buffer.from(d.body).toString();
