// Log text a peer cannot forge lines in: the broker passes every log message through here, since
// names, tags, error frames and refused user names all come from clients and end up in messages.

/**
 * What could start a fake line or hide text on a terminal: C0 and C1 controls (newline, carriage
 * return, escape...), DEL, Unicode line and paragraph separators and bidirectional overrides; and
 * the backslash, so an escape in the output always means the broker wrote it.
 */
const UNSAFE = /[\\\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');

const NAMED: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` as one safe log line: `\n`, `\r`, `\t` and `\\` for those, `\xHH` for other control
 * characters and `\uHHHH` for the Unicode separators and direction marks. Text without any of
 * them comes back as it is (the common case costs one regex test).
 */
export function escapeLogText(text: string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_ALL, escapeChar) : text;
}
