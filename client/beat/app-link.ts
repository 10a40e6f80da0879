// How an app gives its beat what it needs: a link of its own (a transport, and the store its
// entries, lease and fires live in: a BeatBackend), the app's queue declarer for the messages it
// fires, its settings and task options.
import type { OpenOptions } from '../app/celeriac.js';
import type { QueueDeclarer } from '../app/declare-queues.js';
import type { Settings } from '../app/settings.js';
import type { TaskLink } from '../result-backend/result-backend.js';
import type { TaskDefinition } from '../tasks/definition.js';
import type { BeatDeps } from './beat.js';
import type { BeatBackend } from './types.js';

/** The parts of a Celeriac app a beat uses. */
export interface BeatApp {
  readonly settings: Readonly<Settings>;
  readonly declarer: QueueDeclarer;
  openBeat(opts?: OpenOptions): Promise<{ link: TaskLink; store: BeatBackend }>;
  getTask(name: string): TaskDefinition | undefined;
}

/** A beat's dependencies on `app`: it opens its own link (role 'beat') when started. */
export function beatDepsOf(app: BeatApp): BeatDeps {
  return {
    settings: app.settings,
    taskOptions: (name) => app.getTask(name)?.options,
    async open(startup) {
      const { link, store } = await app.openBeat(startup === undefined ? {} : { startup });
      return {
        backend: store,
        declare: (queue) => app.declarer.ensure(link.transport, queue),
        close: () => link.close(),
        onClose: (fn) => { link.transport.once('close', fn); },
      };
    },
  };
}
