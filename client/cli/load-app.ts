// The Celeriac app a command works with: imported from `-A MODULE` (its default export, else its
// `app` export), or a bare app on --broker for commands that need no task code (call, result...).
import { pathToFileURL } from 'node:url';
import { Celeriac } from '../app/celeriac.js';
import { brokerUrl } from '../app/setting-parsers.js';
import { CliError } from './errors.js';
import { resolveModulePath } from './resolve-module.js';

/** The app and where it came from. */
export interface LoadedApp {
  readonly app: Celeriac;
  /** The absolute path of the module (isolated pools load it in each runner); undefined for a bare app. */
  readonly modulePath: string | undefined;
  /** How the banner and messages name the app: the module as typed, or 'none'. */
  readonly label: string;
}

/** True for a Celeriac app, also one built by another copy of the package (instanceof would fail). */
function isCeleriacApp(v: unknown): v is Celeriac {
  if (v instanceof Celeriac) return true;
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return ['getTask', 'taskNames', 'sendTask', 'worker', 'asyncResult', 'connection', 'close'].every((k) => typeof o[k] === 'function')
    && typeof o['settings'] === 'object' && o['settings'] !== null;
}

/**
 * Checks a broker URL the way the app's broker setting does, so a bad --broker is named before
 * anything runs. The URL alone: whether the pair works (an amqp:// broker needs the app's Redis
 * result backend) is for the app's settings to say once the broker is applied to them.
 */
function checkBrokerUrl(url: string): void {
  brokerUrl(url, 'broker');
}

/**
 * Points an already-built app at another broker (Celery's `-b` sets broker_url before the app is
 * used). The app opens its connections lazily, so nothing has connected yet; the result backend
 * follows the broker when it was the broker.
 */
function overrideBroker(app: Celeriac, url: string): void {
  if (app.settings.broker !== url) app.useBroker(url);
}

/**
 * Imports the module `spec` and returns its app. When `broker` is given it is also put in
 * CELERIAC_BROKER before the import, so a module that reads its broker from there (and each
 * isolated runner, which inherits the environment) agrees with the command line.
 * @throws CliError (exit 2) naming the module: no such module, an error while importing it, no app export.
 */
export async function loadAppModule(spec: string, broker: string | undefined, cwd: string = process.cwd()): Promise<LoadedApp> {
  if (broker !== undefined) {
    checkBrokerUrl(broker);
    process.env['CELERIAC_BROKER'] = broker;
  }
  const path = resolveModulePath(spec, cwd);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    const why = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
    throw new CliError(`cannot load app module ${spec} (${path}): ${why}`, 2, { cause: err });
  }
  const app = [mod['default'], mod['app']].find(isCeleriacApp);
  if (app === undefined) {
    const exported = Object.keys(mod).filter((k) => k !== '__esModule');
    throw new CliError(
      `module ${spec} (${path}) has no Celeriac app: export it as the default export or as \`app\` (exports found: ${exported.length === 0 ? 'none' : exported.join(', ')})`, 2);
  }
  if (broker !== undefined) overrideBroker(app, broker);
  return { app, modulePath: path, label: spec };
}

/** An app with no tasks on `broker` (default: the settings' default broker). */
export function bareApp(broker: string | undefined): LoadedApp {
  return { app: new Celeriac(broker === undefined ? {} : { broker }), modulePath: undefined, label: 'none' };
}
