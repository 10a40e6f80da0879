// The --users-file format, as a pure function: lines, comments, colons and spaces in passwords,
// CRLF files, and errors that name the line without echoing a password.
import t from 'tap';
import { parseUsersFile } from '../../server/cli/users-file.js';

t.test('one NAME:PASSWORD a line; blank lines and # comments skipped', async (t) => {
  const text = '# broker users\n\nalice:s3cret\n  # indented comment\nbob:pa:ss word \r\ncarol::x\n';
  t.strictSame(parseUsersFile(text, 'u.txt'), [
    { user: 'alice', password: 's3cret' },
    { user: 'bob', password: 'pa:ss word ' },
    { user: 'carol', password: ':x' },
  ], 'the password is the rest of the line exactly, less a CRLF\'s CR');
});

t.test('a malformed line names the file and line, not its content', async (t) => {
  t.throws(() => parseUsersFile('alice:ok\nbob-no-colon-s3cret\n', 'u.txt'), { message: 'users file u.txt, line 2: expected NAME:PASSWORD' });
  t.throws(() => parseUsersFile(':nameless\n', 'u.txt'), { message: /line 1/ });
  t.throws(() => parseUsersFile('alice:\n', 'u.txt'), { message: /line 1/ }, 'an empty password');
  t.throws(() => parseUsersFile('# only comments\n', 'u.txt'), { message: /holds no user/ });
});

t.test('NAME+TAG:PASSWORD gives a user management tags; an unknown tag names the line and the tag', async (t) => {
  const text = 'ops+administrator:s3cret\ngrafana + monitoring:pw:x\nboth+monitoring+administrator+monitoring:p\napp:plain\n';
  t.strictSame(parseUsersFile(text, 'u.txt'), [
    { user: 'ops', password: 's3cret', tags: ['administrator'] },
    { user: 'grafana', password: 'pw:x', tags: ['monitoring'] },
    { user: 'both', password: 'p', tags: ['monitoring', 'administrator'] },
    { user: 'app', password: 'plain' },
  ]);
  t.throws(() => parseUsersFile('alice+root:s3cret\n', 'u.txt'), { message: "users file u.txt, line 1: user 'alice' has an unknown tag 'root' (known: administrator, monitoring)" });
  t.throws(() => parseUsersFile('+administrator:s3cret\n', 'u.txt'), { message: 'users file u.txt, line 1: expected NAME:PASSWORD' });
});
