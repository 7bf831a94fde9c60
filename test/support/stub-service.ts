/**
 * A plain HTTP server on 127.0.0.1 standing in for one of a peer's own services in a unit test;
 * closed when the test finishes (or earlier with `close`, which leaves a port where nothing answers).
 */
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import { onTestFinished } from 'vitest';

export async function stubService(handler: RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
  onTestFinished(close);
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close };
}
