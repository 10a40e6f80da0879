// `celeriac purge`: deletes every message waiting in the named queues (or, with -A, the app's
// queues) and prints the counts. It asks nothing: without -f it refuses (exit 2).
import { CeleriacError } from '../../../shared/errors.js';
import { UsageError, type CommandSpec } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { CliError } from '../errors.js';

const spec: CommandSpec = {
  name: 'purge',
  summary: 'delete the messages waiting in queues',
  positionals: '',
  description: [
    'Deletes every ready message in the queues (messages a worker holds unacked are not touched).',
    'The queues are -Q, else (with -A) every queue the app declares, minus -X.',
    'This cannot be undone, so it needs -f/--force; without it the command refuses (exit 2).',
    'A queue that does not exist is reported and the command exits 1 after purging the others.',
  ],
  flags: [
    { flag: 'queues', short: 'Q', kind: 'list', metavar: 'NAMES', help: 'queues to purge, comma-separated (repeatable)' },
    { flag: 'exclude-queues', short: 'X', kind: 'list', metavar: 'NAMES', help: 'queues to leave alone' },
    { flag: 'force', short: 'f', kind: 'bool', help: 'really purge (there is no confirmation prompt)' },
  ],
  examples: ['celeriac purge -Q web_tasks,default -f --broker ws://127.0.0.1:5680', 'celeriac purge -A ./tasks.js -X important -f'],
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.positionals.length > 0) throw new UsageError(`purge takes no arguments; name queues with -Q (unexpected: ${ctx.args.positionals.join(' ')})`);
  const named = ctx.args.list('queues');
  const exclude = new Set(ctx.args.list('exclude-queues'));
  const fromApp = named.length === 0;
  const loaded = await ctx.loadApp();
  const { app } = loaded;
  try {
    if (fromApp && loaded.modulePath === undefined) throw new UsageError('purge needs the queues: -Q name[,name] (or -A MODULE to purge the app\'s queues)');
    const queues = [...new Set(fromApp ? app.settings.taskQueues.map((q) => q.name) : named)].filter((q) => !exclude.has(q));
    if (queues.length === 0) throw new UsageError('no queues left to purge after -X');
    if (!ctx.args.bool('force')) {
      throw new CliError(`refusing to purge ${queues.join(', ')} without -f/--force: it deletes every message waiting in ${queues.length === 1 ? 'it' : 'them'}, for good`, 2);
    }
    const conn = await app.connection();
    let total = 0;
    let purged = 0;
    const missing: string[] = [];
    for (const q of queues) {
      try {
        const { messageCount } = await conn.purgeQueue(q);
        total += messageCount;
        purged++;
        ctx.output.out(`${q}: ${plural(messageCount, 'message')} purged\n`);
      } catch (err) {
        if (!(err instanceof CeleriacError && err.code === 'ERR_NOT_FOUND')) throw err;
        missing.push(q);
        ctx.output.err(`celeriac: no such queue: ${q}\n`);
      }
    }
    ctx.output.out(`Purged ${plural(total, 'message')} from ${plural(purged, 'queue')}.\n`);
    return missing.length === 0 ? 0 : 1;
  } finally {
    await app.close();
  }
}

/** The `purge` command. */
export const purgeCommand: Command = { spec, run };
