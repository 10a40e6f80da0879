// The one line broker-server prints when the broker cannot start, for each kind of failure, from
// errors built the way node:net, the store and better-sqlite3 build them.
import t from 'tap';
import { describeStartError } from '../../server/cli/start-errors.js';

const ctx = { port: 5680, host: '127.0.0.1', dataFile: '/srv/celeriac.db' };

function sysError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

t.test('listen failures name the port and host', async (t) => {
  t.equal(describeStartError(sysError('EADDRINUSE', 'listen EADDRINUSE: address already in use 127.0.0.1:5680'), ctx), 'port 5680 on 127.0.0.1 is already in use');
  // A listen error names its port: the AMQP listener's may be the busy one.
  t.equal(describeStartError(Object.assign(sysError('EADDRINUSE', 'listen EADDRINUSE: address already in use 127.0.0.1:5672'), { port: 5672 }), ctx), 'port 5672 on 127.0.0.1 is already in use');
  t.equal(describeStartError(sysError('EADDRNOTAVAIL', 'listen EADDRNOTAVAIL'), ctx), 'cannot listen on 127.0.0.1: no such address on this machine');
  t.equal(describeStartError(sysError('EACCES', 'listen EACCES: permission denied 127.0.0.1:80'), { ...ctx, port: 80 }), 'permission denied to listen on port 80 on 127.0.0.1');
  t.equal(describeStartError(sysError('ENOTFOUND', 'getaddrinfo ENOTFOUND nohost'), { ...ctx, host: 'nohost' }), 'cannot resolve host nohost');
});

t.test('the store\'s own wording is kept; SQLite codes are found along the cause chain', async (t) => {
  const sqlite = sysError('SQLITE_NOTADB', 'file is not a database');
  t.equal(describeStartError(new Error('cannot open data file /srv/celeriac.db: it is not a SQLite database', { cause: sqlite }), ctx),
    'cannot open data file /srv/celeriac.db: it is not a SQLite database');
  t.match(describeStartError(new Error('store failed', { cause: sqlite }), ctx), /^data file \/srv\/celeriac\.db is not a celeriac database/);
  t.match(describeStartError(new Error('x', { cause: sysError('SQLITE_BUSY', 'database is locked') }), ctx), /locked by another process/);
  t.match(describeStartError(new Error('x', { cause: sysError('SQLITE_IOERR_WRITE', 'disk I/O error') }), ctx), /^cannot use data file .*SQLITE_IOERR_WRITE/);
});

t.test('anything else: one line, no stack', async (t) => {
  const line = describeStartError(new Error('something odd\n    at frame (file.js:1:1)'), ctx);
  t.equal(line, 'failed to start: something odd');
  t.equal(describeStartError('a string', ctx), 'failed to start: a string');
  // A coded celeriac error (ERR_*) is not mistaken for a system error code.
  t.equal(describeStartError(Object.assign(new Error('startBroker: option \'port\' must be...'), { code: 'ERR_INVALID_ARGUMENT' }), ctx), "failed to start: startBroker: option 'port' must be...");
});
