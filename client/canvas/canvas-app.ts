// What canvas (chain, group, chord) needs from the app behind its signatures: settings to build
// messages, the producer's link (transport to declare and publish, result backend for groups and
// PENDING records), the registry for task options.
import { fail } from '../../shared/errors.js';
import type { Settings } from '../app/settings.js';
import type { TaskLink } from '../result-backend/result-backend.js';
import type { Transport } from '../transport/transport.js';
import type { AsyncResult, ResultSource } from '../results/async-result.js';
import type { TaskDefinition } from '../tasks/definition.js';
import type { CallOptions, TaskOptions } from '../tasks/types.js';

/** The app as canvas sees it (a Celeriac app is one). */
export interface CanvasApp extends ResultSource {
  readonly settings: Readonly<Settings>;
  /** Declares a queue (its exchange and binding) on a transport before it is published to. */
  readonly declarer: { ensure(transport: Transport, queue: string): Promise<void> };
  /** The producer's link: its transport publishes, its result backend keeps groups and PENDING records. */
  link(): Promise<TaskLink>;
  getTask(name: string): TaskDefinition | undefined;
  sendTask<R>(name: string, args: readonly unknown[], options?: CallOptions & { kwargs?: Record<string, unknown> }, taskOptions?: Readonly<TaskOptions>): Promise<AsyncResult<R>>;
}

/** The app of the first signature that knows one, if any. */
export function firstApp(sigs: readonly { readonly app: CanvasApp | undefined }[]): CanvasApp | undefined {
  for (const s of sigs) if (s.app !== undefined) return s.app;
  return undefined;
}

/** The app of the first signature that knows one; canvas built only of bare signatures cannot be sent. */
export function appOf(sigs: readonly { readonly app: CanvasApp | undefined }[], what: string): CanvasApp {
  const app = firstApp(sigs);
  if (app !== undefined) return app;
  throw fail('ERR_INVALID_ARGUMENT', `${what}: none of its signatures belongs to an app (make them with task.s() / task.si())`);
}
