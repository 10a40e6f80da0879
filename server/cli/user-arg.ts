// The one written form of a user, shared by --user, CELERIAC_USERS and --users-file lines:
// `NAME[+TAG...]:PASSWORD`, e.g. `ops+administrator:s3cret`. Pure, so both callers word their errors.
import { USER_TAGS, isUserTag, type UserSpec, type UserTag } from '../auth/users.js';

/** The parsed user, or why the text is not one (never quoting the password). */
export type UserArg = { ok: UserSpec } | { error: string };

/**
 * Parses `NAME[+TAG...]:PASSWORD`. The name part ends at the first colon (a password may hold
 * colons) and is trimmed; `+` separates the tags (`administrator`, `monitoring`) from the name.
 * A user given without tags may use the WebSocket protocol only, not the management API.
 */
export function parseUserArg(raw: string): UserArg {
  const at = raw.indexOf(':');
  const head = at < 0 ? '' : raw.slice(0, at).trim();
  const password = at < 0 ? '' : raw.slice(at + 1);
  const [name = '', ...tagParts] = head.split('+').map((s) => s.trim());
  if (name === '' || password === '') return { error: 'expected NAME:PASSWORD' };
  const tags: UserTag[] = [];
  for (const tag of tagParts) {
    if (!isUserTag(tag)) return { error: `user '${name}' has an unknown tag '${tag}' (known: ${USER_TAGS.join(', ')})` };
    if (!tags.includes(tag)) tags.push(tag);
  }
  return { ok: tags.length === 0 ? { user: name, password } : { user: name, password, tags } };
}
