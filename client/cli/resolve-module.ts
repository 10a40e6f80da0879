// Finds the file `-A MODULE` names: a path (relative to the working directory, extension
// optional, as `-A tasks` means ./tasks.js) or an installed package, resolved as `import` would.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './errors.js';

function isFile(p: string): boolean {
  return existsSync(p) && statSync(p).isFile();
}

/** A path and the names tried for it: as written, then with .js, .mjs and /index.js. */
function pathCandidates(path: string): string[] {
  return extname(path) === '' ? [path, `${path}.js`, `${path}.mjs`, join(path, 'index.js')] : [path];
}

/** 'pkg', 'pkg/sub', '@scope/pkg/sub' → package name and subpath ('.' or './sub'). */
function splitPackage(spec: string): { name: string; subpath: string } | undefined {
  const m = /^((?:@[^/]+\/)?[^/@.][^/]*)(\/.*)?$/.exec(spec);
  return m ? { name: m[1]!, subpath: m[2] === undefined ? '.' : `.${m[2]}` } : undefined;
}

/** The target of an `exports` entry under the import conditions (no `*` patterns). */
function exportTarget(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (Array.isArray(entry)) {
    for (const e of entry) {
      const t = exportTarget(e);
      if (t !== undefined) return t;
    }
    return undefined;
  }
  if (entry !== null && typeof entry === 'object') {
    for (const cond of ['import', 'node', 'default']) {
      const t = exportTarget((entry as Record<string, unknown>)[cond]);
      if (t !== undefined) return t;
    }
  }
  return undefined;
}

/**
 * An ESM-only package (exports with just an `import` condition) defeats require.resolve; read its
 * package.json from the nearest node_modules and resolve the entry with the import conditions.
 */
function resolveEsmPackage(spec: string, cwd: string): string | undefined {
  const parts = splitPackage(spec);
  if (parts === undefined) return undefined;
  for (let dir = cwd; ; dir = dirname(dir)) {
    const pkgDir = join(dir, 'node_modules', parts.name);
    const pkgFile = join(pkgDir, 'package.json');
    if (isFile(pkgFile)) {
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports?: unknown; main?: string };
      let target: string | undefined;
      if (pkg.exports !== undefined) {
        const ex = pkg.exports;
        const isMap = ex !== null && typeof ex === 'object' && !Array.isArray(ex) && Object.keys(ex).some((k) => k.startsWith('.'));
        target = exportTarget(isMap ? (ex as Record<string, unknown>)[parts.subpath] : parts.subpath === '.' ? ex : undefined);
      } else {
        target = parts.subpath === '.' ? (pkg.main ?? 'index.js') : parts.subpath;
      }
      if (target === undefined) return undefined;
      const file = resolve(pkgDir, target);
      return pathCandidates(file).find(isFile);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The absolute file path of the app module `spec` names.
 * @throws CliError (exit 2) "no such module", listing the files tried.
 */
export function resolveModulePath(spec: string, cwd: string = process.cwd()): string {
  const trimmed = spec.trim();
  if (trimmed === '') throw new CliError('-A/--app needs a module (a path such as ./tasks.js, or a package name)', 2);
  if (trimmed.startsWith('file:')) {
    const p = fileURLToPath(trimmed);
    if (isFile(p)) return p;
    throw new CliError(`no such module: ${spec} (no file at ${p})`, 2);
  }
  const asPath = pathCandidates(isAbsolute(trimmed) ? trimmed : resolve(cwd, trimmed));
  const found = asPath.find(isFile);
  if (found !== undefined) return found;
  const looksLikePath = trimmed.startsWith('.') || isAbsolute(trimmed) || trimmed.includes('\\');
  if (!looksLikePath) {
    try {
      return createRequire(join(cwd, 'noop.js')).resolve(trimmed);
    } catch {
      const esm = resolveEsmPackage(trimmed, cwd);
      if (esm !== undefined) return esm;
    }
  }
  const tried = asPath.join(', ');
  throw new CliError(`no such module: ${spec} (looked for ${tried}${looksLikePath ? '' : `, and a package named ${trimmed} from ${cwd}`})`, 2);
}
