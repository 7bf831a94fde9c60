/**
 * The web UI in a real browser (Debian's Chromium, driven by playwright-core) against a real
 * 3-peer network on 127.x addresses: search on A and see the hits of B and C arrive, queue a
 * download with one click, pause and resume it, watch its progress bar reach 100%, find the file
 * among A's shared files and the answering peers on the network picture; upload a file from the
 * browser and unshare it; share a folder by path. Every step awaits what the page shows; nothing
 * sleeps.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { WEB_DIST, webUiBuilt } from '../../src/client/adapters/http/web-ui.ts';
import { ensureChromium, launchChromium } from '../support/chromium.ts';
import { startFullPeer, type FullPeer } from '../support/full-peer.ts';
import { tempDir } from '../support/temp.ts';

const alivePeers = async (fetchUrl: string) =>
  ((await (await fetch(`${fetchUrl}/peers?state=alive`)).json()) as { total: number }).total;
const peerId = (p: FullPeer) => p.context.identity.peerId;

async function post(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function peersAnswering(client: string, q: string): Promise<number> {
  const res = await fetch(`${client}/search?q=${encodeURIComponent(q)}&wait=1&timeout=1000`);
  return ((await res.json()) as { summary: { peersAnswered: number } }).summary.peersAnswered;
}

describe('the web UI in Chromium on a 3-peer network', () => {
  beforeAll(async () => {
    if (!webUiBuilt()) {
      throw new Error(
        `the web UI is not built (${WEB_DIST}/index.html is missing): run "npm run build:web" (npm ci runs it)`,
      );
    }
    await ensureChromium();
  }, 600_000);

  it(
    'searches, downloads with live progress, shares by upload, and draws who answered',
    { timeout: 120_000 },
    async () => {
      // A downloads at most 1 MiB/s, so the 4 MiB download runs for seconds: long enough to pause it.
      const a = await startFullPeer({ maxDownloadRate: '1MiB' });
      const b = await startFullPeer({ join: a.host });
      const c = await startFullPeer({ join: b.host });
      for (const p of [a, b, c]) await expect.poll(() => alivePeers(p.fetch), { timeout: 20_000 }).toBe(2);

      const dir = tempDir();
      const name = 'Nebula orbit survey.dat';
      const data = randomBytes(4 * 1024 * 1024 + 321);
      mkdirSync(join(dir, 'b'));
      mkdirSync(join(dir, 'c'));
      writeFileSync(join(dir, 'b', name), data);
      writeFileSync(join(dir, 'c', name), data);
      const shared = (await post(`${b.client}/shares`, { path: join(dir, 'b', name) })) as {
        files: Array<{ id: string }>;
      };
      await post(`${c.client}/shares`, { path: join(dir, 'c', name) });
      const id = shared.files[0]!.id;
      // The overlay links come up a moment after the join: wait until A's searches reach both.
      await expect.poll(() => peersAnswering(a.client, 'nebula'), { timeout: 20_000, interval: 0 }).toBe(2);

      const browser = await launchChromium();
      const page = await browser.newPage();
      // Script errors and refused requests (CSP, missing assets, API errors) are collected to check at the end.
      const problems: string[] = [];
      const refused: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('response', (r) => {
        if (r.status() >= 400) refused.push(`${r.status()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`);
      });

      await page.goto(`${a.client}/`);
      await page.locator(`[data-testid="peer-id"][title="${peerId(a)}"]`).waitFor();

      // An API error is shown as the API words it.
      await page.getByLabel('Search the network').fill('!!!');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.getByRole('alert').filter({ hasText: 'no searchable words' }).waitFor();

      // Search: the hits of B and C arrive, each with its hops, then the summary.
      await page.getByLabel('Search the network').fill('nebula orbit');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      const result = page.locator(`.result[data-file-id="${id}"]`);
      await result.locator(`[data-holder="${peerId(b)}"]`, { hasText: /\d hops?$/ }).waitFor();
      await result.locator(`[data-holder="${peerId(c)}"]`, { hasText: /\d hops?$/ }).waitFor();
      await page.getByRole('status').filter({ hasText: '2 hits from 2 peers' }).waitFor();

      // One click queues it; pause and resume it while it runs; its bar reaches 100%.
      await result.getByRole('button', { name: `Download ${name}` }).click();
      const download = page.locator(`.download[data-file-id="${id}"]`);
      await download.and(page.locator('[data-state="running"]')).waitFor();
      // Its sources, each with what it sent and its rate: B's or C's File Management.
      await download.getByText(/^From [12] sources?$/).click();
      await download
        .getByRole('list', { name: `Sources of ${name}` })
        .getByText(new RegExp(`^(${peerId(b).slice(0, 12)}|${peerId(c).slice(0, 12)})@`))
        .first()
        .waitFor();
      await download.getByRole('button', { name: `Pause ${name}` }).click();
      await download.and(page.locator('[data-state="paused"]')).waitFor();
      await download.getByRole('button', { name: `Resume ${name}` }).click();
      await download.and(page.locator('[data-state="done"]')).waitFor({ timeout: 30_000 });
      await download.locator('progress[data-percent="100"]').waitFor();
      expect(await download.locator('.pct').textContent()).toBe('100%');
      await result.getByText('Downloaded').waitFor();

      // The finished download is among A's shared files.
      await page.getByRole('tab', { name: 'Shared files' }).click();
      await page.locator(`.file[data-file-id="${id}"]`, { hasText: name }).waitFor();

      // Upload from the browser: it streams into A's store and is listed; then unshare it.
      const uploaded = randomBytes(300_000);
      await page
        .getByLabel('Upload from this browser')
        .setInputFiles({ name: 'browser upload.bin', mimeType: 'application/octet-stream', buffer: uploaded });
      const row = page.locator('.file', { hasText: 'browser upload.bin' });
      await row.waitFor();
      const listed = (await (await fetch(`${a.client}/files?q=browser`)).json()) as {
        items: Array<{ name: string; size: number }>;
      };
      expect(listed.items).toMatchObject([{ name: 'browser upload.bin', size: 300_000 }]);
      await row.getByRole('button', { name: 'Unshare browser upload.bin' }).click();
      await row.waitFor({ state: 'detached' });

      // Share a folder by its path on the peer's disk; a path the peer refuses says why.
      const shareBox = page.getByLabel("Share from the peer's disk");
      await shareBox.fill('not/absolute');
      await page.getByRole('button', { name: 'Share', exact: true }).click();
      await page.getByRole('alert').filter({ hasText: 'Not shared:' }).waitFor();
      mkdirSync(join(dir, 'a'));
      writeFileSync(join(dir, 'a', 'Quasar field notes.txt'), 'notes shared by path from the web UI\n');
      await shareBox.fill(join(dir, 'a'));
      await page.getByRole('button', { name: 'Share', exact: true }).click();
      await page.getByRole('status').filter({ hasText: 'Shared 1 file' }).waitFor();
      await page.locator('.file', { hasText: 'Quasar field notes.txt' }).waitFor();

      // The network picture: all three peers, their links, and B and C marked as having answered.
      await page.getByRole('tab', { name: 'Network' }).click();
      const map = page.getByTestId('network-map');
      await map.locator(`[data-peer="${peerId(a)}"]`).waitFor();
      for (const p of [b, c]) await map.locator(`[data-peer="${peerId(p)}"][data-hops]:not([data-hops=""])`).waitFor();
      await map.locator('line.link').nth(1).waitFor({ state: 'attached' });
      await page.locator(`tr[data-peer="${peerId(b)}"]`, { hasText: 'alive' }).waitFor();

      expect(problems).toEqual([]);
      expect(refused).toEqual(['400 /search?q=%21%21%21', '400 /shares']);
    },
  );
});
