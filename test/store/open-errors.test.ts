// Opening a data file that cannot be used fails with one line naming the file and the reason,
// which broker-server prints as is.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../server/store/index.js';

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'celeriac-store-open-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function openError(file: string): Error {
  try {
    openSqliteStore({ file, durability: 'full' }).close();
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`thrown value is not an Error: ${String(err)}`);
  }
  throw new Error(`opening ${file} did not fail`);
}

function assertOneLine(t: Test, err: Error, file: string, reason: RegExp): void {
  t.ok(err.message.includes(file), `names the file: ${err.message}`);
  t.match(err.message, reason);
  t.notMatch(err.message, /\n/, 'one line');
}

t.test('a directory', async (t) => {
  const dir = tempDir(t);
  assertOneLine(t, openError(dir), dir, /directory/);
});

t.test('a missing directory', async (t) => {
  const file = path.join(tempDir(t), 'no', 'such', 'dir', 'broker.db');
  assertOneLine(t, openError(file), file, /directory does not exist/);
  t.notOk(fs.existsSync(path.dirname(file)), 'nothing created');
});

t.test('a file that is not a database', async (t) => {
  const file = path.join(tempDir(t), 'notes.txt');
  fs.writeFileSync(file, 'These are plain notes, not a SQLite database at all.\n'.repeat(50));
  assertOneLine(t, openError(file), file, /not a SQLite database/);
  t.match(fs.readFileSync(file, 'utf8'), /^These are plain notes/, 'the file is left untouched');
});

t.test("another application's SQLite database", async (t) => {
  const file = path.join(tempDir(t), 'other.db');
  const other = new Database(file);
  other.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)');
  other.close();
  assertOneLine(t, openError(file), file, /another application/);
});

t.test('a file already used by another broker', async (t) => {
  const file = path.join(tempDir(t), 'broker.db');
  const first = openSqliteStore({ file, durability: 'full' });
  t.teardown(() => first.close());
  assertOneLine(t, openError(file), file, /locked/);
  first.close();
  openSqliteStore({ file, durability: 'full' }).close();
  t.pass('opens once the first broker closed it');
});

t.test('a file written by a newer schema', async (t) => {
  const file = path.join(tempDir(t), 'broker.db');
  openSqliteStore({ file, durability: 'full' }).close();
  const raw = new Database(file);
  raw.exec('UPDATE schema_version SET version = version + 100');
  raw.close();
  assertOneLine(t, openError(file), file, /newer celeriac/);
});

t.test('an unknown durability mode', async (t) => {
  t.throws(() => openSqliteStore({ file: ':memory:', durability: 'lazy' as 'full' }), /durability/);
});
