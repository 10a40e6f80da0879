// Starts a broker for one test: port 0, 127.0.0.1, in-memory data, closed by the test's teardown.
// Every integration test gets its broker here so none leaks a port or a database.
import type { Test } from 'tap';
import { startBroker, type Broker, type BrokerOptions } from '../../server/index.js';

/** A broker on a free port with ':memory:' data, closed when `t` ends. */
export async function startTestBroker(t: Test, options: BrokerOptions = {}): Promise<Broker> {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', dataFile: ':memory:', ...options });
  t.teardown(() => broker.close());
  return broker;
}
