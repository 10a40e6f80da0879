// The dashboard's page and assets, served by the broker from its own package: GET / (the dashboard
// for a user, the login page for a browser without credentials) and GET /dashboard/{file}.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../../shared/errors.js';

/**
 * Scripts come from the package and nowhere else, with no inline code; the page draws its charts
 * as SVG in the DOM; nothing may frame it (clickjacking of the purge button).
 */
export const DASHBOARD_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
  + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** An asset name: one path segment, so nothing outside the two folders can be named. */
const FILE_PATTERN = '^[a-z0-9][a-z0-9-]*\\.(js|css|svg)$';

/** The package's root: the nearest folder above this module holding package.json (from server/http or dist/server/http). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('the dashboard cannot find its package (no package.json above server/http)');
    dir = up;
  }
  return dir;
}

/** Where the assets live: the static files (HTML, CSS) as written, the scripts as `prepare` compiled them. */
export function dashboardFolders(root = packageRoot()): { pages: string; scripts: string } {
  return { pages: join(root, 'dashboard', 'static'), scripts: join(root, 'dist', 'dashboard') };
}

interface Asset {
  type: string;
  body: Buffer;
}

/**
 * The assets, read once at first use and kept (a few tens of kB). A broker built without its
 * dashboard (no `npm run build`) answers 404 with a coded error that says so, and serves the API as ever.
 */
class AssetShelf {
  private assets: Map<string, Asset> | undefined;

  constructor(private readonly folders: { pages: string; scripts: string }) {}

  get(name: string): Asset {
    this.assets ??= this.load();
    const asset = this.assets.get(name);
    if (asset !== undefined) return asset;
    const built = this.assets.has('app.js') ? '' : ' (the dashboard scripts are not built: run npm run build)';
    throw fail('ERR_NOT_FOUND', `no dashboard file '${name}'${built}`);
  }

  private load(): Map<string, Asset> {
    const out = new Map<string, Asset>();
    for (const dir of [this.folders.pages, this.folders.scripts]) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        const type = TYPES[extname(name)];
        if (type !== undefined) out.set(name, { type, body: readFileSync(join(dir, name)) });
      }
    }
    return out;
  }
}

function sendAsset(reply: FastifyReply, asset: Asset): FastifyReply {
  return reply
    .header('content-type', asset.type)
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    // Revalidated on every load, so a broker upgrade never runs an old script against a new API.
    .header('cache-control', 'no-cache')
    .send(asset.body);
}

/** Registers GET / and GET /dashboard/{file}. */
export function registerDashboardRoutes(app: FastifyInstance, folders = dashboardFolders()): void {
  const shelf = new AssetShelf(folders);

  app.get('/', {
    schema: {
      tags: ['dashboard'],
      summary: 'The dashboard (HTML); the login page for a browser that sends no credentials',
      description: 'With HTTP Basic credentials or the session cookie: the dashboard. Without: the login page (200), which logs in with POST /api/login.',
      response: { 200: { type: 'string', description: 'text/html' } },
    },
    config: { auth: 'optional' },
  }, async (req, reply) => sendAsset(reply, shelf.get(req.principal === null ? 'login.html' : 'index.html')));

  app.get<{ Params: { file: string } }>('/dashboard/:file', {
    schema: {
      hide: true,
      params: { type: 'object', required: ['file'], properties: { file: { type: 'string', pattern: FILE_PATTERN } } },
      response: { 200: { type: 'string' } },
    },
    // Code and style only, the same for everyone: the login page needs them before anyone has logged in.
    config: { auth: 'none' },
  }, async (req, reply) => sendAsset(reply, shelf.get(req.params.file)));
}
