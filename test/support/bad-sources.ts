/**
 * Misbehaving File Management sources for download tests: real HTTP servers behind TLS (a peer
 * identity of their own, peer-source.ts) on their own loopback addresses that forward to an
 * honest source but corrupt chunks, send more bytes than the range they announce, answer
 * slowly, never answer, hold or forge the manifest; a silent source that accepts TCP connections
 * and never says a word (not even its half of the TLS handshake); and an address whose TCP
 * handshake never completes. Each is named by `source`, `peerId@host:port`. Closed when the
 * test ends.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { spawn } from 'node:child_process';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { onTestFinished } from 'vitest';
import { memorySigner } from '../../src/shared/keys.ts';
import { nextLoopback } from './loopback.ts';
import { listenAsPeer, type PeerListener } from './peer-source.ts';

export type Misbehaviour =
  | { kind: 'corrupt' } // flip a byte in every range it serves
  | { kind: 'oversize' } // announce the range asked for, then send extra bytes after it
  | { kind: 'stall' } // accept the request and never answer
  | { kind: 'slow'; delayMs: number } // answer honestly, each range after a delay
  | { kind: 'held-manifest'; until: Promise<void> } // answer the manifest only once `until` resolves
  | { kind: 'forged-manifest' }; // answer the manifest with one chunk hash replaced (its id no longer matches)

export interface BadSource {
  /** `peerId@host:port` */
  source: string;
  /** Its TLS listener (identity, accepted connections). */
  peer: PeerListener;
  /** Range requests received. */
  requests: number;
  /** Body bytes of range answers sent. */
  bytes: number;
  /** The byte ranges asked for, as [first, last] (inclusive). */
  ranges: Array<[number, number]>;
  /** Manifest requests received. */
  manifests: number;
  /** Resolves once the client gave up a manifest request before it was answered. */
  readonly manifestAbandoned: Promise<void>;
}

function forward(upstream: string, req: IncomingMessage): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const out = request(
      `${upstream}${req.url}`,
      { method: req.method, headers: { range: req.headers.range ?? '' } },
      resolve,
    );
    out.on('error', reject);
    out.end();
  });
}

export async function startBadSource(upstream: string, behaviour: Misbehaviour): Promise<BadSource> {
  const host = nextLoopback();
  let abandoned!: () => void;
  const state: BadSource = {
    source: '',
    peer: undefined as unknown as PeerListener,
    requests: 0,
    bytes: 0,
    ranges: [],
    manifests: 0,
    manifestAbandoned: new Promise<void>((r) => (abandoned = r)),
  };
  const stalled: ServerResponse[] = [];
  const server = createServer((req, res) => {
    serve(req, res).catch(() => res.destroy()); // the upstream or the client went away
  });
  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const isRange = req.url?.endsWith('/content') && req.headers.range;
    if (isRange) {
      state.requests++;
      const [first, last] = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range))?.slice(1).map(Number) ?? [];
      if (first !== undefined && last !== undefined) state.ranges.push([first, last]);
    }
    if (req.url?.endsWith('/manifest')) {
      state.manifests++;
      if (behaviour.kind === 'held-manifest') {
        res.on('close', () => !res.writableEnded && abandoned());
        await behaviour.until;
        if (res.destroyed) return;
      }
    }
    if (isRange && behaviour.kind === 'stall') {
      stalled.push(res);
      return;
    }
    if (isRange && behaviour.kind === 'slow') await new Promise((r) => setTimeout(r, behaviour.delayMs));
    const up = await forward(upstream, req);
    const body = Buffer.concat(await up.toArray());
    // The answer declares the honest length (the body may then lie about its bytes or its size).
    const headers = { ...up.headers, 'content-length': String(body.length) };
    if (isRange && behaviour.kind === 'corrupt' && body.length > 0) body[body.length >> 1]! ^= 0xff;
    if (req.url?.endsWith('/manifest') && behaviour.kind === 'forged-manifest' && up.statusCode === 200) {
      const manifest = JSON.parse(body.toString('utf8')) as { chunks: string[] };
      manifest.chunks[0] = '0'.repeat(64);
      const forged = Buffer.from(JSON.stringify(manifest));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(forged.length) });
      res.end(forged);
      return;
    }
    const extra = isRange && behaviour.kind === 'oversize' ? Buffer.alloc(4096, 7) : Buffer.alloc(0);
    res.writeHead(up.statusCode!, headers);
    if (isRange) state.bytes += body.length + extra.length;
    res.end(Buffer.concat([body, extra]));
  }
  state.peer = await listenAsPeer(server, host);
  state.source = state.peer.source;
  onTestFinished(() => {
    for (const res of stalled) res.destroy();
    server.closeAllConnections();
  });
  return state;
}

export interface SilentSource {
  /** `peerId@host:port` (an id nobody there will prove). */
  source: string;
  /** TCP connections accepted (none is ever answered). */
  readonly connections: number;
  /** Resolves once `n` connections are open at once. */
  open(n: number): Promise<void>;
}

/** A source that accepts TCP connections, reads what it is sent, and never answers. */
export async function startSilentSource(): Promise<SilentSource> {
  const host = nextLoopback();
  const sockets = new Set<Socket>();
  let connections = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server = createTcpServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.resume();
    for (const w of waiters.filter((w) => sockets.size >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, 'close');
  });
  return {
    source: `${memorySigner().peerId}@${host}:${port}`,
    get connections() {
      return connections;
    },
    open: (n) => (sockets.size >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
  };
}

/**
 * An address that never completes a TCP handshake: a listener with a backlog of 1 in a child
 * process that is stopped (SIGSTOP), its accept queue (backlog + 1 on Linux) filled by
 * connections of our own; the kernel then drops every further SYN, as a black-holed host would.
 * Killed when the test ends. (Node takes a backlog of 0 for "the default", hence 1.)
 */
export async function startUnreachableSource(): Promise<{ source: string; address: string }> {
  const host = nextLoopback();
  const listener = `const s = require('node:net').createServer(); s.listen({ host: '${host}', port: 0, backlog: 1 }, () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ['-e', listener], { stdio: ['ignore', 'pipe', 'inherit'] });
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  child.kill('SIGSTOP');
  for (let i = 0; i < 2; i++) {
    const filler = connect(port, host);
    filler.on('error', () => undefined);
    onTestFinished(() => void filler.destroy());
    await once(filler, 'connect');
  }
  return { source: `${memorySigner().peerId}@${host}:${port}`, address: `${host}:${port}` };
}
