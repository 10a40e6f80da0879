// Cross-check with real Python (skipped without python3): the reads a Celery worker does on our
// message — zlib.decompress, json.loads with kombu's object_hook, datetime.fromisoformat.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { buildTaskMessage, parseTaskMessage } from '../../shared/messages/index.js';

const ID = '0b9a1e2c-3d4f-4a5b-8c6d-7e8f90a1b2c3';

// kombu/utils/json.py's object_hook for the markers we write, written out here because kombu
// itself may not be installed; then the reads of celery/worker/request.py and celery/app/trace.py.
const SCRIPT = String.raw`
import base64, json, sys, zlib
from datetime import datetime
msg = json.load(sys.stdin)
headers = msg['headers']
body = base64.b64decode(msg['body'])
if headers.get('compression') == 'application/x-gzip':
    body = zlib.decompress(body)
def hook(o):
    if o.keys() == {'__type__', '__value__'}:
        if o['__type__'] == 'datetime': return datetime.fromisoformat(o['__value__'])
        if o['__type__'] == 'base64': return base64.b64decode(o['__value__'])
    return o
args, kwargs, embed = json.loads(body.decode(msg['contentEncoding']), object_hook=hook)
time_limit, soft_time_limit = headers['timelimit']
eta = datetime.fromisoformat(headers['eta'])
expires = datetime.fromisoformat(headers['expires'])
chain = embed['chain']
print(json.dumps({
  'task': headers['task'], 'id': headers['id'], 'root_id': headers['root_id'],
  'args_types': [type(a).__name__ for a in args], 'bytes': list(args[1]), 'when': args[2].isoformat(),
  'kwargs': kwargs, 'time_limit': time_limit, 'soft_time_limit': soft_time_limit,
  'eta': eta.isoformat(), 'eta_aware': eta.tzinfo is not None, 'expires': expires.isoformat(),
  'next_step': chain.pop()['task'], 'callbacks': [s['task'] for s in embed['callbacks']],
}))
`;

const python = spawnSync('python3', ['--version'], { encoding: 'utf8', timeout: 10_000 });
const skip = python.status !== 0 ? 'python3 is not installed' : false;

t.test('a Python worker reads our JSON + zlib message', { skip }, async (t) => {
  const m = buildTaskMessage({
    id: ID, task: 'proj.tasks.add', now: Date.UTC(2024, 0, 2, 3, 4, 5), countdown: 10_000, expires: 60_000,
    args: [2, new Uint8Array([0, 1, 255]), new Date(Date.UTC(2024, 5, 6, 7, 8, 9, 250))], kwargs: { scale: 1.5 },
    timeLimit: 5_000, softTimeLimit: 4_500, compression: 'zlib',
    chain: [{ task: 'step2', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false },
      { task: 'step3', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false }],
    callbacks: [{ task: 'log', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: true }],
  });
  const input = JSON.stringify({ headers: m.headers, contentEncoding: m.properties.contentEncoding, body: Buffer.from(m.body).toString('base64') });
  const run = spawnSync('python3', ['-c', SCRIPT], { input, encoding: 'utf8', timeout: 20_000 });
  t.equal(run.status, 0, run.stderr);
  const seen = JSON.parse(run.stdout) as Record<string, unknown>;
  t.same(seen, {
    task: 'proj.tasks.add', id: ID, root_id: ID, args_types: ['int', 'bytes', 'datetime'], bytes: [0, 1, 255],
    when: '2024-06-06T07:08:09.250000+00:00', kwargs: { scale: 1.5 }, time_limit: 5, soft_time_limit: 4.5,
    eta: '2024-01-02T03:04:15+00:00', eta_aware: true, expires: '2024-01-02T03:05:05+00:00',
    next_step: 'step2', callbacks: ['log'],
  });
  // And the same message reads back here.
  t.same(parseTaskMessage(m.headers, m.properties, m.body).embed.chain.map((s) => s.task), ['step2', 'step3']);
});

t.test('we read what Python writes: json.dumps + zlib.compress', { skip }, async (t) => {
  const script = String.raw`
import base64, json, zlib
body = json.dumps([[2, 2], {'x': 'é'}, {'callbacks': None, 'errbacks': None, 'chain': None, 'chord': None}]).encode('utf-8')
print(base64.b64encode(zlib.compress(body)).decode())`;
  const run = spawnSync('python3', ['-c', script], { encoding: 'utf8', timeout: 20_000 });
  t.equal(run.status, 0, run.stderr);
  const body = new Uint8Array(Buffer.from(run.stdout.trim(), 'base64'));
  const r = parseTaskMessage(
    { lang: 'py', task: 'tasks.add', id: ID, eta: null, expires: null, timelimit: [null, null], compression: 'application/x-gzip' },
    { contentType: 'application/json', contentEncoding: 'utf-8' }, body,
  );
  t.same([r.args, r.kwargs, r.compression], [[2, 2], { x: 'é' }, 'zlib']);
});
