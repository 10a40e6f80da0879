// Turns whatever startBroker threw into the one line broker-server prints: a busy port, a bad
// address, a data file SQLite cannot use. Pure, so each case is unit-tested with a built error.

/** What the message needs to name the problem. */
export interface StartContext {
  port: number;
  host: string;
  dataFile: string;
}

/** The first `code` string found on the error or along its `cause` chain. */
function findCode(err: unknown): { code: string; message: string; port: number | undefined } | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 8 && cur !== null && typeof cur === 'object'; depth++) {
    const { code, message, cause, port } = cur as { code?: unknown; message?: unknown; cause?: unknown; port?: unknown };
    // A listen error names its port: the WebSocket/HTTP one or the AMQP one.
    if (typeof code === 'string' && !code.startsWith('ERR_')) return { code, message: typeof message === 'string' ? message : '', port: typeof port === 'number' ? port : undefined };
    cur = cause;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One line (no "broker-server:" prefix, no stack) saying why the broker did not start. */
export function describeStartError(err: unknown, ctx: StartContext): string {
  const found = findCode(err);
  const file = ctx.dataFile;
  // The store already words its open failures for humans ("cannot open data file X: why").
  const top = messageOf(err).split('\n')[0]!;
  if (top.startsWith('cannot open data file')) return top;
  switch (found?.code) {
    case 'EADDRINUSE': return `port ${found.port ?? ctx.port} on ${ctx.host} is already in use`;
    case 'EADDRNOTAVAIL': return `cannot listen on ${ctx.host}: no such address on this machine`;
    case 'EACCES': return found.message.includes('listen') ? `permission denied to listen on port ${found.port ?? ctx.port} on ${ctx.host}` : `permission denied: ${found.message}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return `cannot resolve host ${ctx.host}`;
    case 'SQLITE_NOTADB': return `data file ${file} is not a celeriac database (SQLite: ${found.message})`;
    case 'SQLITE_CORRUPT': return `data file ${file} is corrupt (SQLite: ${found.message})`;
    case 'SQLITE_CANTOPEN': return `cannot open data file ${file} (SQLite: ${found.message})`;
    case 'SQLITE_READONLY': return `data file ${file} is read-only`;
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED': return `data file ${file} is locked by another process (another broker-server?)`;
    case 'SQLITE_FULL': return `no space left for data file ${file}`;
    default:
      if (found?.code.startsWith('SQLITE_')) return `cannot use data file ${file} (SQLite ${found.code}: ${found.message})`;
      return `failed to start: ${messageOf(err).split('\n')[0]}`;
  }
}
