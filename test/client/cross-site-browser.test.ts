/**
 * A hostile web page in a real browser (Debian's Chromium) against a real peer. Pages of another
 * site — one on another loopback address (cross-site), one on another port of the peer's own
 * address (same-site, another origin) — try what a page can send without a CORS preflight: form
 * POSTs, no-cors fetches with no body or text/plain, and reads; a page that reached the peer by
 * DNS rebinding (its own name resolving to the peer) tries same-origin reads and JSON changes.
 * Nothing changes on the peer (a paused download stays paused, no download, share or search is
 * started, no file is unshared) and nothing is read.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { CLIENT_HEADER } from '../../src/shared/site-guard.ts';
import { ensureChromium, launchChromium } from '../support/chromium.ts';
import { startFullPeer, type FullPeer } from '../support/full-peer.ts';
import { nextLoopback } from '../support/loopback.ts';

/** The attacker's page: nothing but a frame to aim forms at; the attacks run in it through evaluate(). */
const ATTACKER_PAGE =
  '<!doctype html><html><head><title>cute cats</title></head><body><iframe name="sink"></iframe></body></html>';

/** Serve the attacker's page on host (a free port); closed when the test ends. */
async function attackerSite(host: string): Promise<string> {
  const server: Server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end(ATTACKER_PAGE),
  );
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://${host}:${(server.address() as AddressInfo).port}/`;
}

interface Targets {
  client: string;
  download: string;
  files: string;
  search: string;
  key: string;
  fileId: string;
  sharedId: string;
}

/** The little of the DOM the attacker's page uses (the tests compile without the DOM library). */
interface PageElement {
  append(child: PageElement): void;
  addEventListener(event: 'load', listener: () => void, options: { once: true }): void;
  submit(): void;
}
interface PageDocument {
  body: PageElement;
  querySelector(selector: 'iframe'): PageElement;
  createElement(tag: 'form' | 'input'): PageElement;
}

/** Runs in the attacker's page: every change a page can send without a preflight, then reads. */
async function attack(t: Targets): Promise<string[]> {
  const document = (globalThis as unknown as { document: PageDocument }).document;
  const results: string[] = [];
  const noCors = async (url: string, init: RequestInit = {}) => {
    try {
      await fetch(url, { mode: 'no-cors', credentials: 'include', ...init });
    } catch (err) {
      results.push(`${url}: ${String(err)}`);
    }
  };
  const text = (body: unknown): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify(body),
  });
  for (const base of [t.client, t.download]) {
    for (const action of ['resume', 'cancel']) {
      await noCors(`${base}/downloads/${t.key}/${action}`, { method: 'POST' });
      await noCors(`${base}/downloads/${t.key}/${action}`, text({}));
    }
    await noCors(`${base}/downloads`, text({ fileId: t.fileId, name: 'evil.bin' }));
  }
  // DELETE is not allowed without CORS: the browser asks first (a preflight no service grants).
  await fetch(`${t.client}/files/${t.sharedId}`, { method: 'DELETE' }).catch(() => undefined);
  await noCors(`${t.files}/shares`, text({ path: '/etc' }));
  await noCors(`${t.client}/shares`, text({ path: '/etc' }));
  await noCors(`${t.search}/searches`, text({ q: 'attack' }));
  await noCors(`${t.client}/search?q=attack&wait=1&timeout=100`);
  await noCors(`${t.search}/search?q=attack&wait=1&timeout=100`);

  // Forms, as a page would submit them into a hidden frame: urlencoded and text/plain.
  const sink = document.querySelector('iframe');
  const forms: Array<[string, string]> = [];
  for (const base of [t.client, t.download])
    for (const action of ['resume', 'cancel'])
      forms.push([`${base}/downloads/${t.key}/${action}`, 'application/x-www-form-urlencoded']);
  forms.push([`${t.client}/downloads`, 'text/plain'], [`${t.search}/searches`, 'text/plain']);
  for (const [action, enctype] of forms) {
    const form = document.createElement('form');
    Object.assign(form, { method: 'POST', action, target: 'sink', enctype });
    const input = Object.assign(document.createElement('input'), {
      name: '{"fileId":"' + t.fileId + '","q":"attack","x":"',
      value: '"}',
    });
    form.append(input);
    document.body.append(form);
    const loaded = new Promise<void>((resolve) => sink.addEventListener('load', resolve, { once: true }));
    form.submit();
    await loaded;
  }

  // Reads: the browser must not hand the answers to this page.
  for (const url of [
    `${t.client}/status`,
    `${t.client}/files`,
    `${t.client}/downloads`,
    `${t.download}/downloads`,
    `${t.files}/files`,
  ]) {
    try {
      const res = await fetch(url);
      results.push(`read ${url}: ${res.status} ${await res.text()}`);
    } catch {
      /* refused by the browser: what we want */
    }
  }
  return results;
}

/** Runs in a page served under the attacker's name, now resolving to the peer: same-origin reads and changes. */
async function rebound(key: string): Promise<Array<[string, number, string]>> {
  const out: Array<[string, number, string]> = [];
  for (const path of ['/status', '/files', '/downloads', '/peers', '/health']) {
    const res = await fetch(path);
    out.push([path, res.status, await res.text()]);
  }
  for (const action of ['resume', 'cancel']) {
    const res = await fetch(`/downloads/${key}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-peershare-client': 'web' },
      body: '{}',
    });
    out.push([action, res.status, await res.text()]);
  }
  return out;
}

const json = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;
const searchesStarted = async (p: FullPeer) =>
  (await json<{ counters: { searchesStarted: number } }>(`${p.search}/health`)).counters.searchesStarted;

/** What the attacks could change: the paused download, the download list, the shared files, the searches. */
async function snapshot(p: FullPeer, key: string) {
  return {
    state: (await json<{ state: string }>(`${p.download}/downloads/${key}`)).state,
    downloads: (await json<unknown[]>(`${p.download}/downloads`)).length,
    files: (await json<{ items: Array<{ id: string }> }>(`${p.client}/files`)).items.map((f) => f.id),
    searches: await searchesStarted(p),
  };
}

describe('pages of other sites against a peer, in Chromium', () => {
  beforeAll(async () => {
    await ensureChromium();
  }, 600_000);

  it('change nothing on the peer and read nothing from it', { timeout: 120_000 }, async () => {
    const peer = await startFullPeer();
    const own = { [CLIENT_HEADER]: 'test' };
    // A download the user paused, and a file the user shares: the attacks aim at both.
    const queued = await fetch(`${peer.download}/downloads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fileId: randomBytes(32).toString('hex'), name: 'target.bin' }),
    });
    const { key } = (await queued.json()) as { key: string };
    expect((await fetch(`${peer.client}/downloads/${key}/pause`, { method: 'POST', headers: own })).status).toBe(200);
    const uploaded = await fetch(`${peer.client}/files?name=diary.txt`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', ...own },
      body: 'dear diary',
    });
    const sharedId = ((await uploaded.json()) as { id: string }).id;
    const before = await snapshot(peer, key);
    expect(before).toMatchObject({ state: 'paused', downloads: 1, files: [sharedId] });

    const targets: Targets = {
      client: peer.client,
      download: peer.download,
      files: peer.files,
      search: peer.search,
      key,
      fileId: randomBytes(32).toString('hex'),
      sharedId,
    };
    const browser = await launchChromium([
      // The attacker's name resolves to the peer: what DNS rebinding achieves.
      `--host-resolver-rules=MAP evil.example ${peer.host}`,
      // Chromium alone refuses a public page's requests to loopback (Local Network Access);
      // Firefox and Safari do not, so the peer must refuse them itself: shown with it off.
      '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessRespectPreflightResults',
    ]);
    const sites = [await attackerSite(nextLoopback()), await attackerSite(peer.host)];
    for (const site of sites) {
      const page = await browser.newPage();
      await page.goto(site);
      const leaks = await page.evaluate(attack, targets);
      expect([site, leaks]).toEqual([site, []]);
      expect([site, await snapshot(peer, key)]).toEqual([site, before]);
      await page.close();
    }

    for (const port of [DEFAULT_PORTS.clientPort, DEFAULT_PORTS.downloadPort, DEFAULT_PORTS.filesPort]) {
      const page = await browser.newPage();
      const origin = `http://evil.example:${port}`;
      // The attacker's server answers the first load; after that the name resolves to the peer.
      await page.route(`${origin}/`, (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', body: ATTACKER_PAGE }),
      );
      await page.goto(`${origin}/`);
      for (const [what, status, body] of await page.evaluate(rebound, key)) {
        expect([origin, what, status]).toEqual([origin, what, 403]);
        expect(body).not.toContain(peer.context.identity.peerId);
        expect(body).not.toContain('diary');
      }
      await page.close();
    }
    expect(await snapshot(peer, key)).toEqual(before);
  });
});
