/**
 * File Management's connect-back splice (PUSH in split mode, files/adapters/http/connect-back-splice.ts),
 * over its real peer port: a splice waits for the holder it names and ends at the registry's
 * deadline; a connect-back that proves another id is closed, never spliced; the holder's own is
 * spliced, bytes pass both ways, and either side closing closes the other. Only this host's
 * admin may ask: a peer over TLS, a page of another site, a request without the client header,
 * another upgrade and one past the cap of waits are refused. And the holder's side when its
 * Search runs apart (POST /connect-backs): File Management dials the requester pinned to its id
 * and serves it there with a peer's access; only for this host's admin.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { FilesService } from '../../src/files/service.ts';
import { buildFiles } from '../../src/peer/build-files.ts';
import { createPeerContext } from '../../src/peer/context.ts';
import { loadConfig } from '../../src/shared/config.ts';
import { ConnectBacks } from '../../src/shared/connect-backs.ts';
import { dialPeer } from '../../src/shared/http-client.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { ALPN_HTTP, ALPN_PUSH } from '../../src/shared/peer-tls.ts';
import { nextLoopback } from '../support/loopback.ts';
import { tempDir } from '../support/temp.ts';
import { testIdentity } from '../support/testnet.ts';
import { tlsPeerClient } from '../support/tls-peer-client.ts';

/** The deadline of the test about the deadline: it waits this long. */
const WAIT_MS = 400;
/**
 * The deadline elsewhere, where it is not what the test is about: a TLS handshake of a connect-back
 * took more than 400 ms beside the suite under stress-ng, and the deadline answered 503 first.
 */
const NO_DEADLINE_MS = 60_000;

interface Files {
  service: FilesService;
  address: string;
  peerId: string;
  connectBacks: ConnectBacks;
}

async function startFiles(maxWaits = 8, timeoutMs = NO_DEADLINE_MS): Promise<Files> {
  const host = nextLoopback();
  const config = loadConfig({ flags: { host, dataDir: join(tempDir(), 'data') } });
  const ctx = createPeerContext(config, silentLogger());
  await ctx.tls.ready();
  const connectBacks = new ConnectBacks({ maxWaits, timeoutMs });
  const service = buildFiles(ctx, connectBacks);
  await service.start();
  onTestFinished(() => service.stop());
  return { service, address: new URL(service.url).host, peerId: ctx.identity.peerId, connectBacks };
}

/** What a splice request reads: everything the socket received so far, and its end. */
interface Asked {
  socket: Socket | TLSSocket;
  received(): string;
  /** Resolves once the received text includes `text`. */
  until(text: string): Promise<void>;
  closed: Promise<unknown>;
}

function ask(
  socket: Socket | TLSSocket,
  host: string,
  holder: string,
  headers: Record<string, string> = { 'x-peershare-client': 'test' },
): Asked {
  let text = '';
  const waiters: Array<() => void> = [];
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
    for (const w of waiters.splice(0)) w();
  });
  socket.on('error', () => undefined);
  const closed = once(socket, 'close');
  const extra = Object.entries({ upgrade: ALPN_PUSH, ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(`GET /connect-backs/${holder} HTTP/1.1\r\nhost: ${host}\r\nconnection: Upgrade\r\n${extra}\r\n`);
  const until = async (needle: string): Promise<void> => {
    while (!text.includes(needle)) {
      if (socket.destroyed) throw new Error(`closed before "${needle}"; received: ${text}`);
      await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), closed]);
    }
  };
  return { socket, received: () => text, until, closed };
}

async function askLocally(files: Files, holder: string, headers?: Record<string, string>): Promise<Asked> {
  const [host, port] = [files.address.split(':')[0]!, Number(files.address.split(':')[1])];
  const socket = connect({ host, port });
  await once(socket, 'connect');
  onTestFinished(() => void socket.destroy());
  return ask(socket, files.address, holder, headers);
}

/** A peer's connect-back to `files` (ALPN peershare-push/1, pinned to its id), as a holder dials it. */
async function connectBack(files: Files, tls: Awaited<ReturnType<typeof testIdentity>>['tls']): Promise<TLSSocket> {
  const { socket } = await dialPeer(tls, files.address, files.peerId, { alpn: [ALPN_PUSH] });
  onTestFinished(() => void socket.destroy());
  socket.on('error', () => undefined);
  return socket;
}

describe("File Management's connect-back splice", () => {
  it('says it waits for the holder named, and answers 503 UNAVAILABLE at the deadline when that holder never connects back', async () => {
    const files = await startFiles(8, WAIT_MS);
    const holder = (await testIdentity()).identity.peerId;
    const asked = await askLocally(files, holder);
    await asked.until('\r\n\r\n');
    expect(asked.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    await asked.closed;
    expect(asked.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 503 /);
    expect(asked.received()).toContain('"code":"UNAVAILABLE"');
    expect(asked.received()).toContain(`firewalled peer ${holder} did not connect back`);
    expect(files.connectBacks.counters).toEqual({ taken: 0, unasked: 0, timedOut: 1 });
  });

  it("splices only the named holder's connect-back: another id's is closed; bytes pass both ways; either side closing closes the other", async () => {
    const files = await startFiles();
    const holder = await testIdentity();
    const stranger = await testIdentity();

    const asked = await askLocally(files, holder.identity.peerId);
    await asked.until('100 Continue\r\n\r\n');
    // A connection proving another id: closed at once, nothing spliced.
    const wrong = await connectBack(files, stranger.tls);
    await once(wrong, 'close');
    expect(files.connectBacks.counters.unasked).toBe(1);
    expect(asked.received()).toBe('HTTP/1.1 100 Continue\r\n\r\n');

    const right = await connectBack(files, holder.tls);
    await asked.until('101 Switching Protocols');
    expect(asked.received()).toContain(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${ALPN_PUSH}\r\n\r\n`,
    );
    expect(files.connectBacks.counters).toMatchObject({ taken: 1, unasked: 1 });
    // The caller's bytes reach the holder, and the holder's the caller.
    right.setEncoding('latin1');
    const atHolder = once(right, 'data');
    asked.socket.write('GET /files/x/manifest HTTP/1.1\r\n\r\n');
    expect((await atHolder)[0]).toBe('GET /files/x/manifest HTTP/1.1\r\n\r\n');
    right.write('HTTP/1.1 404 Not Found\r\n\r\n');
    await asked.until('404 Not Found');
    // The holder goes: the caller's socket closes too.
    right.destroy();
    await asked.closed;

    // And the other way: the caller goes, the holder's connection closes.
    const again = await askLocally(files, holder.identity.peerId);
    await again.until('100 Continue\r\n\r\n');
    const second = await connectBack(files, holder.tls);
    await again.until('101 Switching Protocols');
    const secondClosed = once(second, 'close');
    again.socket.destroy();
    await secondClosed;
  });

  it("dials a requester for this host's admin (a split holder's Search decided) and serves it there; pinned to the requester's id; refused to a peer over TLS", async () => {
    const holder = await startFiles();
    const requester = await startFiles();
    const dial = (json: unknown) =>
      fetch(`${holder.service.url}/connect-backs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(json),
      });
    // The requester's Download waits for the holder through its own File Management's splice.
    const asked = await askLocally(requester, holder.peerId);
    await asked.until('100 Continue\r\n\r\n');
    const connected = await dial({ peerId: requester.peerId, address: requester.address });
    expect(connected.status).toBe(200);
    expect(await connected.json()).toEqual({ connected: true });
    await asked.until('101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: peershare-push/1\r\n\r\n');
    // The holder serves the requester on that connection with a peer's access: a manifest route
    // answers (no such file here), a route for the holder's local user does not.
    asked.socket.write(`GET /files/${'ef'.repeat(32)}/manifest HTTP/1.1\r\nhost: ${holder.address}\r\n\r\n`);
    await asked.until('"code":"FILE_NOT_FOUND"');
    asked.socket.write(`GET /files HTTP/1.1\r\nhost: ${holder.address}\r\n\r\n`);
    await asked.until("is for this peer's local user, not for other peers");

    // Named with another id than the one at that address: the dial fails the pin, nothing served.
    const stranger = (await testIdentity()).identity.peerId;
    const mismatch = await dial({ peerId: stranger, address: requester.address });
    expect(mismatch.status).toBe(502);
    expect(((await mismatch.json()) as { error: { code: string } }).error.code).toBe('PEER_ID_MISMATCH');
    // (The pin is checked once the handshake is done: the requester's port may see that connection
    // arrive, and closes it, as nobody waits for it.)
    expect(requester.connectBacks.counters.taken).toBe(1);

    // Another peer, over TLS, cannot make this peer dial anyone.
    const peer = await tlsPeerClient();
    const refused = await peer.post(holder.address, '/connect-backs', {
      peerId: requester.peerId,
      address: requester.address,
    });
    expect(refused.status).toBe(403);
    expect(requester.connectBacks.counters.taken).toBe(1);
  });

  it('is refused to a peer over TLS, a page of another site, a request without the client header, another upgrade, and past the cap of waits', async () => {
    const files = await startFiles(2);
    const holder = (await testIdentity()).identity.peerId;
    const status = async (asked: Asked) => {
      await asked.closed;
      return /^HTTP\/1\.1 (\d{3})/.exec(asked.received())?.[1];
    };

    // A peer, over TLS (its identity alone reaches only manifests and content).
    const peer = await testIdentity();
    const { socket: tls } = await dialPeer(peer.tls, files.address, files.peerId, { alpn: [ALPN_HTTP] });
    onTestFinished(() => void tls.destroy());
    const overTls = ask(tls, files.address, holder);
    expect(await status(overTls)).toBe('403');
    expect(overTls.received()).toContain("is for this peer's local user, not for other peers");

    // A page of another site (a WebSocket from a page says its Origin), and one that names no client.
    expect(
      await status(await askLocally(files, holder, { origin: 'http://evil.example', 'x-peershare-client': 'x' })),
    ).toBe('403');
    expect(await status(await askLocally(files, holder, {}))).toBe('415');
    // Another protocol to upgrade to; another path.
    expect(await status(await askLocally(files, holder, { upgrade: 'websocket', 'x-peershare-client': 'x' }))).toBe(
      '400',
    );
    expect(await status(await askLocally(files, 'nobody'))).toBe('404');
    // Two waits held (the cap here): a third is refused at once, without the interim answer.
    const held = [await askLocally(files, holder), await askLocally(files, holder)];
    for (const h of held) await h.until('100 Continue');
    const third = await askLocally(files, holder);
    expect(await status(third)).toBe('503');
    expect(third.received()).toContain('too many connect-backs awaited at once');
    // Nothing was ever taken or waited on but the two held.
    expect(files.connectBacks.counters).toMatchObject({ taken: 0, unasked: 0 });
  });
});
