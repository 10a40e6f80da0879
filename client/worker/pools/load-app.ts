// Loads the app module a worker names (`celeriac worker -A ./tasks.js`, isolated runners): resolves
// it to a file URL, imports it and finds the Celeriac app in it, with errors that say which part failed.
import { existsSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CeleriacError } from '../../../shared/errors.js';
import type { TaskRegistry } from '../../tasks/definition.js';

/**
 * Turns a module path (relative to `cwd`) or a file URL into an absolute file URL, so every runner
 * imports the same file whatever its own working directory. A path without an extension is tried
 * with `.js` and `.mjs` as well, as a user typing `-A ./tasks` expects.
 * @throws CeleriacError ERR_INVALID_ARGUMENT "no such module" when no file is there.
 */
export function resolveAppModule(spec: string, cwd: string = process.cwd()): string {
  const path = spec.startsWith('file:') ? fileURLToPath(spec) : resolve(cwd, spec);
  const candidates = extname(path) === '' ? [path, `${path}.js`, `${path}.mjs`] : [path];
  for (const c of candidates) {
    if (existsSync(c) && statSync(c).isFile()) return pathToFileURL(c).href;
  }
  throw new CeleriacError('ERR_INVALID_ARGUMENT', `no such module: ${spec} (looked for ${candidates.join(', ')})`, { details: { module: spec } });
}

/** True for an object that implements the registry part of a Celeriac app. */
export function isTaskRegistry(v: unknown): v is TaskRegistry {
  return typeof v === 'object' && v !== null
    && typeof (v as { getTask?: unknown }).getTask === 'function'
    && typeof (v as { taskNames?: unknown }).taskNames === 'function';
}

/**
 * Imports the app module and returns its Celeriac app: the default export, else the export named
 * `app`. Errors name the module: no such module, an error while importing it (the cause kept), or
 * a module without an app.
 */
export async function loadApp(spec: string, cwd?: string): Promise<TaskRegistry> {
  const url = resolveAppModule(spec, cwd);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new CeleriacError('ERR_INVALID_ARGUMENT', `cannot load app module ${spec}: ${why}`, { cause: err, details: { module: spec } });
  }
  for (const candidate of [mod.default, mod.app]) {
    if (isTaskRegistry(candidate)) return candidate;
  }
  throw new CeleriacError('ERR_INVALID_ARGUMENT',
    `module ${spec} has no default export or \`app\` export that is a Celeriac app (an object with getTask() and taskNames())`,
    { details: { module: spec } });
}
