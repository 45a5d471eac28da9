import { createServer } from 'node:net';

/** Asks the OS for a free TCP port on 127.0.0.1. Another process may still take it, so callers retry on collision. */
export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('getFreePort: no port assigned'))));
    });
  });
}
