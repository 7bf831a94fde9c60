/**
 * Shared by bench/webtorrent-seed.mjs and bench/webtorrent-leech.mjs (the WebTorrent reference of
 * bench/transfer.ts): load WebTorrent from the benchmark's cache folder (BENCH_WEBTORRENT_DIR,
 * installed there by transfer.ts with `npm install --prefix DIR --ignore-scripts webtorrent@2`)
 * and create a client with every discovery channel off.
 *
 * WebRTC is stubbed: webtorrent imports `webrtc-polyfill`, whose native addon (node-datachannel)
 * is fetched or built by an install script, and install scripts are off. The benchmark connects
 * the two clients over plain TCP only (addPeer), so WebRTC is never used; the stub throws if it
 * ever were. Nothing on the measured path (TCP wire protocol, SHA-1 piece checks, the file store)
 * is replaced.
 */
import { register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const STUB = `const no = class { constructor() { throw new Error('WebRTC is not available in this benchmark'); } };
export const RTCPeerConnection = no, RTCSessionDescription = no, RTCIceCandidate = no;
export default { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate };`;
const HOOKS = `export async function resolve(specifier, context, next) {
  if (specifier === 'webrtc-polyfill') return { url: 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(STUB)}), shortCircuit: true };
  return next(specifier, context);
}`;

export async function loadWebTorrent() {
  const dir = process.env.BENCH_WEBTORRENT_DIR;
  if (!dir) throw new Error('BENCH_WEBTORRENT_DIR is not set');
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
  const { default: WebTorrent } = await import(pathToFileURL(join(dir, 'node_modules/webtorrent/index.js')).href);
  return WebTorrent;
}

/** A client that finds no one by itself: no trackers, DHT, LSD, PEX, uTP, UPnP or NAT-PMP. */
export async function isolatedClient() {
  const WebTorrent = await loadWebTorrent();
  const client = new WebTorrent({
    tracker: false,
    dht: false,
    lsd: false,
    utPex: false,
    utp: false,
    natUpnp: false,
    natPmp: false,
    webSeeds: false,
  });
  client.on('error', fail);
  if (!client.listening) await new Promise((resolve) => client.once('listening', resolve));
  return { client, version: WebTorrent.VERSION };
}

/** One line of JSON on stdout: what the parent reads. */
export function report(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function fail(err) {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
}
