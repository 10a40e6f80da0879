// The sub-commands of `celeriac`, in the order --help lists them.
import type { Command } from '../context.js';
import { beatCommand } from './beat.js';
import { callCommand } from './call.js';
import { controlCommand } from './control.js';
import { eventsCommand } from './events.js';
import { inspectCommand, statusCommand } from './inspect.js';
import { purgeCommand } from './purge.js';
import { queuesCommand } from './queues.js';
import { resultCommand } from './result.js';
import { scheduleCommand } from './schedule.js';
import { workerCommand } from './worker.js';

/** Every command `celeriac` runs. */
export const COMMANDS: readonly Command[] = [workerCommand, beatCommand, callCommand, resultCommand, scheduleCommand, inspectCommand, statusCommand, controlCommand, queuesCommand, eventsCommand, purgeCommand];
