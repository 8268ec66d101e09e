import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 at the time of asking (for services started next). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no free port on 127.0.0.1')),
      );
    });
  });
}
