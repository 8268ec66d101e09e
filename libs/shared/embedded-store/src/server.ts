import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { CommandRunner, HANDSHAKE_COMMANDS, type ServerCounters } from './commands';
import { CursorRegistry } from './cursors';
import { StoreEngine, type CompactionOptions } from './engine';
import { ERROR_CODES } from './errors';
import { lockDirectory, prepareStoreDirectory } from './lock';
import type { Doc } from './values';
import {
  MessageFramer,
  OP_MSG,
  OP_QUERY,
  ProtocolError,
  encodeOpMsg,
  encodeOpReply,
  parseOpMsg,
  parseOpQuery,
  readHeader,
} from './wire';

export interface EmbeddedStoreOptions {
  /** Where the journal and the LOCK file live; created if absent. */
  dir: string;
  /** Default 127.0.0.1: the store has no authentication, so keep it on loopback. */
  host?: string;
  /** Default 0: any free port (read it back from `port` or `url`). */
  port?: number;
  /**
   * Listen on this Unix domain socket instead of TCP, created with mode 0600:
   * only the owner's processes can connect (the store has no authentication).
   */
  socketPath?: string;
  /** The database named in `url`; default 'cloudflow'. Clients may use any database. */
  database?: string;
  /** When the journal is compacted while running (defaults: over 2x the live data and 16 MiB dead). */
  compaction?: CompactionOptions;
}

export interface EmbeddedStoreServer {
  /** `mongodb://127.0.0.1:PORT/cloudflow` (or the socket's path, encoded), for mongoose or the driver. */
  readonly url: string;
  /** The TCP port; 0 on a Unix socket. */
  readonly port: number;
  /** Stops listening, ends the connections, flushes and closes the journal, releases the directory. */
  close(): Promise<void>;
}

/**
 * Starts CloudFlow's embedded document store: a MongoDB wire-protocol server
 * on loopback over the journaled in-memory engine, so mongoose and the driver
 * run unchanged in standalone mode. Only one store may open a directory.
 */
export async function startEmbeddedStore(
  options: EmbeddedStoreOptions,
): Promise<EmbeddedStoreServer> {
  const dir = path.resolve(options.dir);
  const host = options.host ?? '127.0.0.1';
  const database = options.database ?? 'cloudflow';
  prepareStoreDirectory(dir);
  const lock = lockDirectory(dir);
  let engine: StoreEngine;
  try {
    engine = StoreEngine.open(dir, options.compaction);
  } catch (error) {
    lock.release();
    throw error;
  }
  const cursors = new CursorRegistry();
  const counters: ServerCounters = { current: 0, totalCreated: 0, startedAt: Date.now() };
  const runner = new CommandRunner(engine, cursors, counters);
  const sockets = new Set<net.Socket>();

  const server = net.createServer((socket) => {
    counters.totalCreated += 1;
    counters.current += 1;
    sockets.add(socket);
    serveConnection(socket, runner, counters.totalCreated);
    socket.on('close', () => {
      counters.current -= 1;
      sockets.delete(socket);
    });
  });

  const shutdown = async (): Promise<void> => {
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await stopped;
    cursors.close();
    try {
      await engine.close();
    } finally {
      lock.release();
    }
  };

  const socketPath = options.socketPath && path.resolve(options.socketPath);
  try {
    if (socketPath) removeStaleSocket(socketPath);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const listening = () => {
        server.off('error', reject);
        resolve();
      };
      if (socketPath) {
        // Created owner-only from the start: no moment when others could connect.
        const umask = process.umask(0o177);
        try {
          server.listen(socketPath, listening);
        } finally {
          process.umask(umask);
        }
      } else {
        server.listen(options.port ?? 0, host, listening);
      }
    });
  } catch (error) {
    cursors.close();
    await engine.close();
    lock.release();
    throw error;
  }
  // After start-up a server error (rare: the listening socket failing) must not crash the host.
  server.on('error', () => undefined);

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= shutdown());
  if (socketPath) {
    return { url: `mongodb://${encodeURIComponent(socketPath)}/${database}`, port: 0, close };
  }
  const port = (server.address() as net.AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { url: `mongodb://${urlHost}:${port}/${database}`, port, close };
}

/** Unix sockets are limited to about 104 bytes of path on Linux and macOS. */
const MAX_SOCKET_PATH = 100;

/**
 * A socket file left by a store that did not close (the directory's lock is
 * ours now, so no live store owns it). Anything else at the path is refused.
 */
function removeStaleSocket(socketPath: string): void {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new Error(
      `the store's socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes; choose a shorter directory`,
    );
  }
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stat.isSocket()) throw new Error(`${socketPath} exists and is not a socket`);
  fs.unlinkSync(socketPath);
}

/**
 * One client connection: whole messages in, one reply per request out, in
 * order. A message the store cannot read (unknown opcode, bad size, malformed
 * BSON) closes this connection only; command errors are replies.
 */
function serveConnection(socket: net.Socket, runner: CommandRunner, connectionId: number): void {
  socket.setNoDelay(true);
  const framer = new MessageFramer();
  const connection = {
    connectionId,
    remote: `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`,
  };
  socket.on('error', () => {
    // A client that went away; 'close' follows and cleans up.
  });
  socket.on('data', (chunk: Buffer) => {
    try {
      for (const message of framer.push(chunk)) {
        const reply = handleMessage(message, runner, connection);
        if (reply) socket.write(reply);
      }
    } catch {
      // ProtocolError, or anything unexpected while reading a message: drop the client, keep serving.
      socket.destroy();
    }
  });
}

function handleMessage(
  message: Buffer,
  runner: CommandRunner,
  connection: { connectionId: number; remote: string },
): Buffer | null {
  const { requestId, opCode } = readHeader(message);
  if (opCode === OP_MSG) {
    const request = parseOpMsg(message);
    const reply = runner.run(request.body, connection);
    return request.moreToCome ? null : encodeReply(encodeOpMsg, requestId, reply);
  }
  if (opCode === OP_QUERY) {
    const { fullCollectionName, query } = parseOpQuery(message);
    if (!fullCollectionName.endsWith('.$cmd')) {
      throw new ProtocolError('legacy OP_QUERY is only accepted for commands');
    }
    const name = Object.keys(query)[0] ?? '';
    const reply = HANDSHAKE_COMMANDS.has(name)
      ? runner.run({ ...query, $db: fullCollectionName.slice(0, -'.$cmd'.length) }, connection)
      : {
          ok: 0,
          errmsg: `Unsupported OP_QUERY command: ${name}. The client driver may require an upgrade.`,
          code: ERROR_CODES.UnsupportedOpQueryCommand,
          codeName: 'UnsupportedOpQueryCommand',
        };
    return encodeReply(encodeOpReply, requestId, reply);
  }
  throw new ProtocolError(`unsupported opcode ${opCode}`);
}

/** Encodes a reply; one too large for BSON becomes an error reply instead. */
function encodeReply(
  encode: (responseTo: number, reply: Doc) => Buffer,
  requestId: number,
  reply: Doc,
): Buffer {
  try {
    return encode(requestId, reply);
  } catch (error) {
    return encode(requestId, {
      ok: 0,
      errmsg: `reply could not be encoded: ${(error as Error).message}`,
      code: ERROR_CODES.BSONObjectTooLarge,
      codeName: 'BSONObjectTooLarge',
    });
  }
}
