// How an app gives its beat what it needs: a connection of its own (the broker Connection is the
// BeatBackend), the app's queue declarer for the messages it fires, its settings and task options.
import type { OpenOptions } from '../app/celeriac.js';
import type { QueueDeclarer } from '../app/declare-queues.js';
import type { Settings } from '../app/settings.js';
import type { Connection } from '../connection.js';
import type { TaskDefinition } from '../tasks/definition.js';
import type { BeatDeps } from './beat.js';

/** The parts of a Celeriac app a beat uses. */
export interface BeatApp {
  readonly settings: Readonly<Settings>;
  readonly declarer: QueueDeclarer;
  open(role: string, opts?: OpenOptions): Promise<Connection>;
  getTask(name: string): TaskDefinition | undefined;
}

/** A beat's dependencies on `app`: it opens its own connection (role 'beat') when started. */
export function beatDepsOf(app: BeatApp): BeatDeps {
  return {
    settings: app.settings,
    taskOptions: (name) => app.getTask(name)?.options,
    async open(startup) {
      const conn = await app.open('beat', startup === undefined ? {} : { startup });
      return {
        backend: conn,
        declare: (queue) => app.declarer.ensure(conn, queue),
        close: () => conn.close(),
        onClose: (fn) => { conn.once('close', fn); },
      };
    },
  };
}
