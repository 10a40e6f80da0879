// What the dashboard's browser tests share: a broker with an administrator and a monitoring user,
// a real worker sending task events that has run three tasks and one failure, and Debian's
// Chromium driven by playwright-core, with waits that each give up after WAIT_MS.
import type { Test } from 'tap';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import type { AsyncResult, Celeriac } from '../../client/index.js';
import type { Broker } from '../../server/index.js';
import { api } from '../helpers/http.js';
import { untilAsync } from '../helpers/wait.js';
import { EYE, taskApiEnv, unique } from '../http/task-helpers.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHOTS = join(ROOT, '.tap', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Every wait of the browser gives up after this long. */
export const WAIT_MS = 10_000;

export interface TaskJson { id: string; name: string; state: string; traceback: string | null }
export interface QueueJson { ready: number; messages: number }
export interface OverviewJson { queues: number }

/** Resolves once the locator's text satisfies `ok`; rejects after WAIT_MS. */
export async function textOf(locator: Locator, ok: (text: string) => boolean, what: string): Promise<string> {
  let last = '';
  await untilAsync(async () => {
    last = ((await locator.first().textContent({ timeout: WAIT_MS }).catch(() => null)) ?? '').trim();
    return ok(last);
  }, WAIT_MS, `${what} (last seen: ${JSON.stringify(last)})`);
  return last;
}

export async function newPage(browser: Browser, options: Parameters<Browser['newContext']>[0] = {}): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.setDefaultNavigationTimeout(WAIT_MS);
  // A script refused by the CSP, a failed module load or an exception shows here.
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  return { context, page, errors };
}

export async function login(page: Page, url: string, user: string, password: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.locator('form#login').waitFor();
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${url}/**`), page.click('form#login button[type=submit]')]);
  await textOf(page.locator('#me'), (s) => s.startsWith(user), `logged in as ${user}`);
}


/** Launches Chromium (closed at teardown), after checking it and the built dashboard exist. */
export async function launch(t: Test): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  if (!existsSync(join(ROOT, 'dist', 'dashboard', 'app.js'))) throw new Error('the dashboard is not built: run npm run build');
  mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'], timeout: WAIT_MS });
  t.teardown(() => browser.close());
  return browser;
}

export interface DashboardEnv {
  broker: Broker;
  /** The broker's HTTP URL. */
  url: string;
  /** Unique to this test: the task names' prefix and the worker's hostname. */
  prefix: string;
  /** A producer app. */
  app: Celeriac;
  /** The failed task. */
  bad: AsyncResult;
}

/** A broker and a worker (hostname `<prefix>@test`) that ran `<prefix>.add` three times and `<prefix>.boom` once (it fails). */
export async function dashboardEnv(t: Test): Promise<DashboardEnv> {
  const { broker, newApp, startWorker } = await taskApiEnv(t);
  const prefix = unique('dash');
  const workerApp = newApp();
  workerApp.task(`${prefix}.add`, (a: number, b: number) => a + b);
  workerApp.task(`${prefix}.boom`, () => {
    throw new RangeError('the dashboard shows this');
  });
  await startWorker(workerApp, { hostname: `${prefix}@test` });
  const app = newApp();
  for (let i = 0; i < 3; i++) t.equal(await (await app.sendTask(`${prefix}.add`, [i, 40])).get({ timeout: 5_000 }), i + 40);
  const bad = await app.sendTask(`${prefix}.boom`, []);
  await bad.get({ timeout: 5_000, propagate: false });
  await untilAsync(async () => (await api<TaskJson>(broker, `/api/tasks/${bad.id}`, { auth: EYE })).body.state === 'FAILURE', WAIT_MS, 'the failure indexed');
  return { broker, url: broker.httpUrl, prefix, app, bad };
}
