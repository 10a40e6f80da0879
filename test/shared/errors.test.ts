// The error table kept honest: codes unique and well-formed, wire and close numbers sane, and
// docs/errors.md listing exactly the table's codes with the same numbers (both ways).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CeleriacError, ERRORS, errorFromWire, fail, isErrorCode, type ErrorCode } from '../../shared/errors.js';

const DOC = fileURLToPath(new URL('../../docs/errors.md', import.meta.url));
const codes = Object.keys(ERRORS) as ErrorCode[];

/** Codes the client raises itself; the broker never sends them, so their close code is only observed. */
const CLIENT_SIDE: readonly ErrorCode[] = ['ERR_CONNECTION_CLOSED', 'ERR_TIMEOUT'];

interface DocRow { code: string; className: string; wire: number; scope: string; close: number | undefined }

function docRows(): DocRow[] {
  const rows: DocRow[] = [];
  for (const line of readFileSync(DOC, 'utf8').split('\n')) {
    const m = /^\|\s*`(ERR_[A-Z0-9_]+)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|([^|]*)\|/.exec(line);
    if (!m) continue;
    const close = m[5]!.trim();
    rows.push({ code: m[1]!, className: m[2]!.trim(), wire: Number(m[3]!.trim()), scope: m[4]!.trim(), close: /^\d+$/.test(close) ? Number(close) : undefined });
  }
  return rows;
}

t.test('codes are unique and well-formed', async (t) => {
  t.ok(codes.length > 10, 'the table is not empty');
  for (const code of codes) t.match(code, /^ERR_[A-Z][A-Z0-9_]*$/, `${code} is ERR_UPPER_SNAKE`);
  const names = codes.map((c) => new CeleriacError(c, 'x').name);
  t.equal(new Set(names).size, names.length, 'class names are unique');
  for (const n of names) t.match(n, /^[A-Z][A-Za-z]*Error$/, `${n} is a class-like name`);
  // Object keys cannot repeat, but a duplicated line in the source would silently win: look there.
  const source = readFileSync(fileURLToPath(new URL('../../shared/errors.ts', import.meta.url)), 'utf8');
  const declared = [...source.matchAll(/^\s*(ERR_[A-Z0-9_]+):\s*\{/gm)].map((m) => m[1]);
  t.strictSame(declared.sort(), [...codes].sort(), 'each code is declared exactly once in shared/errors.ts');
});

t.test('wire codes, scopes and close codes are sane', async (t) => {
  for (const code of codes) {
    const spec = ERRORS[code] as { wire: number; scope: string; close?: number; doc: string };
    t.ok(Number.isInteger(spec.wire) && spec.wire >= 200 && spec.wire <= 599, `${code}: wire ${spec.wire} is an AMQP-style reply code`);
    t.ok(spec.doc.length > 10, `${code} has a doc line`);
    if (spec.scope === 'connection') {
      t.ok(spec.close !== undefined, `${code}: a connection error has a close code`);
      // 1005, 1006 and 1015 are reserved: they must never be sent in a close frame [RFC 6455 §7.4.1].
      const sendable = spec.close !== undefined && ((spec.close >= 1000 && spec.close <= 1014 && ![1004, 1005, 1006].includes(spec.close)) || (spec.close >= 3000 && spec.close <= 4999));
      if (CLIENT_SIDE.includes(code)) t.pass(`${code} is client-side only; its close code is never sent`);
      else t.ok(sendable, `${code}: close ${spec.close} may be sent in a close frame`);
    } else {
      t.equal(spec.scope, 'request', `${code}: scope is request or connection`);
      t.equal(spec.close, undefined, `${code}: a request error has no close code`);
    }
  }
});

t.test('docs/errors.md lists every code of the table, with the same numbers', async (t) => {
  const rows = new Map(docRows().map((r) => [r.code, r]));
  for (const code of codes) {
    const row = rows.get(code);
    if (!t.ok(row, `${code} is documented`)) continue;
    const spec = ERRORS[code] as { wire: number; scope: string; close?: number };
    t.equal(row!.wire, spec.wire, `${code}: documented wire code`);
    t.equal(row!.scope, spec.scope, `${code}: documented scope`);
    t.equal(row!.close, spec.close, `${code}: documented close code`);
    t.equal(row!.className, new CeleriacError(code, 'x').name, `${code}: documented class name`);
  }
});

t.test('every code in docs/errors.md exists in the table, once', async (t) => {
  const rows = docRows();
  t.equal(new Set(rows.map((r) => r.code)).size, rows.length, 'no code is documented twice');
  for (const r of rows) t.ok(isErrorCode(r.code), `${r.code} (documented) exists in shared/errors.ts`);
});

t.test('errors rebuilt from the wire keep code, class and details', async (t) => {
  for (const code of codes) {
    const sent = fail(code, `message for ${code}`, { queue: 'q1' });
    const got = errorFromWire(sent.code, sent.message, sent.details);
    t.ok(got instanceof CeleriacError);
    t.equal(got.code, code);
    t.equal(got.name, sent.name);
    t.equal(got.wireCode, ERRORS[code].wire);
    t.strictSame(got.details, { queue: 'q1' });
  }
  const unknown = errorFromWire('ERR_FROM_THE_FUTURE', 'newer broker', { a: 1 });
  t.equal(unknown.code, 'ERR_INTERNAL', 'an unknown code becomes ERR_INTERNAL');
  t.strictSame(unknown.details, { a: 1, remoteCode: 'ERR_FROM_THE_FUTURE' }, 'keeping the original code');
  t.equal(errorFromWire(42, undefined).message, 'error without a message');
  const cause = new Error('disk');
  t.equal(new CeleriacError('ERR_STORE_FAILED', 'x', { cause }).cause, cause, 'cause is kept');
});
