// The format of broker-server's --users-file: one `NAME:PASSWORD` (or `NAME+TAG:PASSWORD`) a line,
// so passwords stay out of the process list. Pure: broker-server reads the file, this turns its text into users.
import type { UserSpec } from '../auth/users.js';
import { parseUserArg } from './user-arg.js';

/**
 * Parses a users file. Each line is `NAME:PASSWORD` or `NAME+TAG[+TAG]:PASSWORD` (tags:
 * `administrator`, `monitoring`): the name part ends at the first colon and is trimmed; the
 * password is the rest of the line exactly (spaces and colons included; a CR of a CRLF line end
 * is not part of it). Empty lines and lines whose first non-blank character is `#` are skipped.
 * Throws an Error naming the file and line for anything else, never echoing a password.
 */
export function parseUsersFile(text: string, file: string): UserSpec[] {
  const users: UserSpec[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const parsed = parseUserArg(line);
    if ('error' in parsed) throw new Error(`users file ${file}, line ${i + 1}: ${parsed.error}`);
    users.push(parsed.ok);
  }
  if (users.length === 0) throw new Error(`users file ${file} holds no user (one NAME:PASSWORD a line)`);
  return users;
}
