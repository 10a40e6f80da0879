// Log lines without a process: the escaping every broker log message goes through, and the text
// and json shapes broker-server writes.
import t from 'tap';
import { escapeLogText } from '../../server/log-text.js';
import { formatLogLine } from '../../server/cli/log-lines.js';

t.test('escapeLogText leaves plain text alone and escapes what could forge or hide a line', async (t) => {
  const plain = "connection 3 closed: ERR_ACCESS_REFUSED: login refused for user 'bob': wrong user name or password";
  t.equal(escapeLogText(plain), plain);
  t.equal(escapeLogText('émoji 🎉 ok'), 'émoji 🎉 ok', 'printable Unicode stays');
  t.equal(escapeLogText('x\nFAKE LINE'), 'x\\nFAKE LINE');
  t.equal(escapeLogText('a\r\nb\tc'), 'a\\r\\nb\\tc');
  t.equal(escapeLogText('\x1b[2K\x1b[1Gclean'), '\\x1b[2K\\x1b[1Gclean', 'terminal escapes cannot erase the line');
  t.equal(escapeLogText('\0\x7f\x85'), '\\x00\\x7f\\x85', 'NUL, DEL and C1 NEL');
  t.equal(escapeLogText('a\u2028b\u2029c\u202etxt.exe'), 'a\\u2028b\\u2029c\\u202etxt.exe', 'line separators and a direction override');
  t.equal(escapeLogText('already \\n escaped'), 'already \\\\n escaped', 'a backslash is doubled, so \\n in a log always means a newline was sent');
  for (let c = 0; c < 0x20; c++) t.notMatch(escapeLogText(`a${String.fromCharCode(c)}b`), /[\x00-\x1f]/, `control 0x${c.toString(16)} escaped`);
});

t.test('text lines: info bare, warnings and errors prefixed; fields only in json', async (t) => {
  const at = new Date('2026-01-02T03:04:05.678Z');
  t.equal(formatLogLine('text', { level: 'info', msg: 'up', fields: { url: 'ws://x' } }, at), 'up');
  t.equal(formatLogLine('text', { level: 'warn', msg: 'careful' }, at), 'broker-server: warn: careful');
  const line = formatLogLine('json', { level: 'error', msg: 'it said "x\\nFAKE"', fields: { url: 'ws://x', n: 3, time: 'forged', level: 'info' } }, at);
  t.notMatch(line, /\n/, 'one line');
  t.strictSame(JSON.parse(line), { time: '2026-01-02T03:04:05.678Z', level: 'error', msg: 'it said "x\\nFAKE"', url: 'ws://x', n: 3 }, 'a field cannot replace time or level');
  t.strictSame(Object.keys(JSON.parse(formatLogLine('json', { level: 'info', msg: 'm' }, at)) as object), ['time', 'level', 'msg']);
});
