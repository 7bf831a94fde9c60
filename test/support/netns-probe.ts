/**
 * Run on another host (test/support/netns.ts): connect to a peer port and print what happened,
 * as one JSON line. `plaintext HOST PORT PATH` sends an HTTP GET in clear; `tls HOST PORT PATH
 * PEER_ID` sends it over TLS as a fresh peer identity, pinned to PEER_ID.
 */
import { connect } from 'node:net';
import { HttpClient } from '../../src/shared/http-client.ts';
import { memorySigner } from '../../src/shared/keys.ts';
import { PeerTls } from '../../src/shared/peer-tls.ts';

const [mode, host, port, path, peerId] = process.argv.slice(2);

if (mode === 'plaintext') {
  const socket = connect({ host: host!, port: Number(port) });
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  socket.on('error', (err) =>
    console.log(JSON.stringify({ error: (err as NodeJS.ErrnoException).code ?? err.message, received })),
  );
  socket.on('close', () => console.log(JSON.stringify({ closed: true, received })));
  socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\n\r\n`));
} else {
  const tls = new PeerTls(memorySigner());
  await tls.ready();
  const answer = await new HttpClient({ tls }).json(
    { kind: 'peer', address: `${host}:${port}`, peerId },
    { path: path! },
  );
  console.log(JSON.stringify({ status: answer.status, peerId: answer.peerId }));
}
