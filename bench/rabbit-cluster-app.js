// The settings the cluster bench's producer and workers share: RabbitMQ nodes as a failover list,
// Redis for results, and the task queue declared as a quorum queue (replicated on every node).

/**
 * Settings for `new Celeriac(...)`: `broker` is the `;`-separated node list (tried in order on
 * connect and reconnect), `resultBackend` a redis:// URL, `queue` the task queue (quorum).
 */
export function benchApp({ broker, resultBackend, queue, acksLate = false }) {
  return {
    broker,
    resultBackend,
    taskDefaultQueue: queue,
    taskQueues: [{ name: queue, arguments: { 'x-queue-type': 'quorum' } }],
    taskAcksLate: acksLate,
  };
}
