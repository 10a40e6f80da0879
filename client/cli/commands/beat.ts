// `celeriac beat`: runs a beat for the app until SIGINT/SIGTERM, then releases its lease (another
// beat takes over at once) and exits 0. Exits 1 when its connection closes for good.
import type { Beat, BeatRunOptions } from '../../beat/beat.js';
import type { WorkerLog } from '../../worker/worker.js';
import { parseDuration, UsageError, type CommandSpec, type ParsedArgs } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import type { LoadedApp } from '../load-app.js';
import { maskUrlPassword } from '../../../shared/mask-url.js';
import { makeLogger } from '../output.js';
import { packageVersion } from '../version.js';

/** The beat flags `celeriac beat` takes (worker -B runs a beat with their defaults). */
const beatFlags = [
  { flag: 'max-interval', env: 'CELERIAC_BEAT_MAX_INTERVAL', kind: 'string', metavar: 'DURATION', default: '5s', help: 'longest sleep between two looks at the schedule' },
  { flag: 'lease-ttl', env: 'CELERIAC_BEAT_LEASE_TTL', kind: 'string', metavar: 'DURATION', default: '10s', help: 'leader lease time to live (1s to 1h): a dead leader is replaced within it' },
] as const;

const spec: CommandSpec = {
  name: 'beat',
  summary: 'send the app\'s periodic tasks (beatSchedule and `celeriac schedule` entries)',
  positionals: '',
  description: [
    'Writes the app\'s beatSchedule into the broker (settings win for the names they define),',
    'then fires every due entry while it holds the leader lease kept in the broker. Run one on',
    'every node if you like: one leads, the others stand by and take over within the lease ttl.',
    'SIGINT/SIGTERM: stops, releasing the lease. Exit code 0 then; 1 if the broker connection is lost for good.',
  ],
  flags: beatFlags,
  examples: ['celeriac beat -A ./tasks.js -l info', 'celeriac beat -A ./tasks.js --broker ws://broker:5680 --max-interval 2s'],
};

/** The beat options of --max-interval and --lease-ttl. */
function beatOptions(args: ParsedArgs, log: WorkerLog): BeatRunOptions {
  const options: BeatRunOptions = { log };
  const mi = args.string('max-interval');
  if (mi !== undefined) {
    options.maxInterval = parseDuration(mi);
    if (options.maxInterval < 1) throw new UsageError(`${mi.source} must be at least 1 ms`);
  }
  const ttl = args.string('lease-ttl');
  if (ttl !== undefined) {
    options.leaseTtl = parseDuration(ttl);
    if (options.leaseTtl < 1_000 || options.leaseTtl > 3_600_000) throw new UsageError(`${ttl.source} must be from 1s to 1h, got '${ttl.raw}'`);
  }
  return options;
}

/** Start-up lines: who runs, against which broker, with which lease. */
function banner(beat: Beat, loaded: LoadedApp): string {
  const s = loaded.app.settings;
  const names = Object.keys(s.beatSchedule);
  return [
    '',
    `celeriac beat v${packageVersion()} is starting.`,
    `.> app:          ${loaded.label}${loaded.modulePath === undefined ? '' : ` (${loaded.modulePath})`}`,
    `.> broker:       ${maskUrlPassword(s.broker)}`,
    `.> holder:       ${beat.holder}`,
    `.> lease:        '${beat.leaseName}', ttl ${beat.leaseTtl} ms`,
    `.> max interval: ${beat.maxInterval} ms`,
    `.> settings:     ${names.length === 0 ? 'no entries' : names.join(', ')}`,
    '',
    '',
  ].join('\n');
}

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.positionals.length > 0) throw new UsageError(`beat takes no arguments; unexpected: ${ctx.args.positionals.join(' ')}`);
  const loaded = await ctx.loadApp({ required: true });
  const log = makeLogger(ctx.logLevel, ctx.output);
  const waiting = new AbortController();
  const beat = loaded.app.beat({ ...beatOptions(ctx.args, log), startup: { log, signal: waiting.signal } });
  const stopped = new Promise<Error | undefined>((res) => beat.once('close', res));
  let signals = 0;
  const removeSignal = ctx.onSignal((signal) => {
    signals++;
    if (signals === 1) {
      log('warn', `${signal}: beat ${beat.holder} stopping (releasing its lease)`);
      waiting.abort(new Error(`${signal} while waiting for the broker`));
      void beat.close();
    } else {
      ctx.output.err(`celeriac: ${signal} again, exiting without releasing the lease (it expires in ${beat.leaseTtl} ms)\n`);
      process.exit(1);
    }
  });
  try {
    ctx.output.out(banner(beat, loaded));
    try {
      await beat.start();
    } catch (err) {
      // Stopped by a signal while waiting for the broker: a shutdown like any other.
      if (signals > 0) return 0;
      throw err;
    }
    const err = await stopped;
    if (err !== undefined) throw new CliError(`beat stopped: ${err.message}`, 1, { cause: err });
    return 0;
  } finally {
    removeSignal();
    await beat.close();
    await loaded.app.close();
  }
}

/** The `beat` command. */
export const beatCommand: Command = { spec, defaultLogLevel: 'info', run };
