// docs/protocol.md kept in step with the code: its opcode table lists every opcode with exactly the
// positional fields of shared/codec.ts LAYOUT, nothing more, and its limits table every limit.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LAYOUT } from '../../shared/codec.js';
import { DEFAULT_LIMITS } from '../../shared/limits.js';
import { OP } from '../../shared/opcodes.js';

const doc = readFileSync(fileURLToPath(new URL('../../docs/protocol.md', import.meta.url)), 'utf8');

/** Rows `| op | `name` | direction | `[op, field: kind, ...]` |` of the opcode table. */
const rows = [...doc.matchAll(/^\|\s*(\d+)\s*\|\s*`(\w+)`\s*\|\s*(c→s|s→c|both)\s*\|\s*`(\[[^`]*\])`\s*\|$/gm)]
  .map((m) => ({ op: Number(m[1]), name: m[2]!, frame: m[4]! }));

function expectedFrame(op: number): string {
  const fields = LAYOUT[op]!.map(([name, kind, optional]) => `${name}${optional ? '?' : ''}: ${kind}`);
  return `[${[String(op), ...fields].join(', ')}]`;
}

t.test('every opcode is documented with its exact fields', async (t) => {
  for (const [name, op] of Object.entries(OP)) {
    const row = rows.find((r) => r.op === op);
    if (!t.ok(row, `${name} (${op}) has a row`)) continue;
    t.equal(row!.name, name, `${op} is named ${name}`);
    t.equal(row!.frame, expectedFrame(op), `${name}: fields in LAYOUT order`);
  }
});

t.test('every documented opcode exists, once', async (t) => {
  t.equal(new Set(rows.map((r) => r.op)).size, rows.length, 'no opcode documented twice');
  const known = new Set<number>(Object.values(OP));
  for (const r of rows) t.ok(known.has(r.op), `documented opcode ${r.op} exists`);
});

t.test('every limit is in the limits table', async (t) => {
  for (const key of Object.keys(DEFAULT_LIMITS)) t.match(doc, new RegExp(`^\\| \`${key}\` \\|`, 'm'), `${key} documented`);
});
