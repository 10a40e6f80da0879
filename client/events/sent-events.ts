// The producer's task-sent events (the `taskSendSentEvent` setting): a hook on the app that
// publishes one event per confirmed task message, on the app's producer transport.
import { hostname } from 'node:os';
import type { AppHooks } from '../app/celeriac.js';
import type { Transport } from '../transport/transport.js';
import { EventPublisher } from './publisher.js';

/** A taskSent hook publishing task-sent events with Celery's fields; `gen<pid>@<host>` as hostname. */
export function sentEventHook(connection: () => Promise<Transport>): NonNullable<AppHooks['taskSent']> {
  const pub = new EventPublisher(`gen${process.pid}@${hostname()}`, connection, (m) => {
    process.emitWarning(m, { code: 'CELERIAC_EVENTS' });
  });
  return (info) => {
    pub.send('task-sent', {
      uuid: info.id, name: info.name, args: info.args, kwargs: info.kwargs, retries: info.retries, eta: info.eta, expires: info.expires,
      queue: info.queue, exchange: info.exchange, routing_key: info.routingKey, root_id: info.rootId, parent_id: info.parentId,
    });
  };
}
