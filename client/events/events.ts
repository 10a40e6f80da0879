// `app.events`: the app's entry to events — subscribing to them with typed handlers.
// (Workers publish through worker-events.ts, producers through sent-events.ts.)
import type { Connection } from '../connection.js';
import { subscribeEvents, type EventSubscription, type SubscribeOptions } from './receiver.js';
import type { EventHandlers } from './types.js';

/** What Events needs of the app. */
export interface EventsHost {
  connection(): Promise<Connection>;
}

/** Events of the app's broker (Celery's `app.events`). */
export class Events {
  constructor(private readonly host: EventsHost) {}

  /**
   * Receives events from every worker and producer on the broker: `handlers` by event type
   * (`'task-succeeded'`, `'worker-heartbeat'`, ...) and `'*'` for all, each typed. Resolves once
   * subscribed; `close()` the subscription to stop.
   */
  async subscribe(handlers: EventHandlers, options: SubscribeOptions = {}): Promise<EventSubscription> {
    return subscribeEvents(await this.host.connection(), handlers, options);
  }
}
