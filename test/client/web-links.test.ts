/**
 * Links in the web UI, in Chromium (playwright-core) against two whole peers that share no
 * network: the holder's "Copy link" puts the file's link on the clipboard (or shows it selected
 * where the Clipboard API is refused); on the other peer, a deep link fills the form and a
 * pasted link is shown, and neither starts anything until the user clicks Download, which then
 * fetches the file from the link's hint alone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { WEB_DIST, webUiBuilt } from '../../src/client/adapters/http/web-ui.ts';
import { ensureChromium, launchChromium } from '../support/chromium.ts';
import { startFullPeer, type FullPeer } from '../support/full-peer.ts';
import { tempDir } from '../support/temp.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

interface Shared {
  id: string;
  name: string;
  link: string;
  data: Buffer;
}

/** Share a file of random bytes on `peer` through the Client API; its id and link. */
async function share(peer: FullPeer, name: string, size: number): Promise<Shared> {
  const data = randomBytes(size);
  const path = join(tempDir(), name);
  writeFileSync(path, data);
  const res = await fetch(`${peer.client}/shares`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path }),
  });
  const { files } = (await res.json()) as { files: Array<{ id: string; link: string }> };
  return { id: files[0]!.id, link: files[0]!.link, name, data };
}

/** The page's requests that would start something: downloads queued, searches run. */
function startsOf(page: Page): string[] {
  const starts: string[] = [];
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if ((r.method() === 'POST' && path === '/downloads') || path === '/search') starts.push(`${r.method()} ${path}`);
  });
  return starts;
}

const downloadsOf = async (peer: FullPeer) =>
  (
    (await (await fetch(`${peer.client}/downloads`)).json()) as {
      downloads: Array<{ fileId: string; state: string; finalPath?: string }>;
    }
  ).downloads;

/** Wait on the page until the download of `file` is done, then check the bytes on disk. */
async function downloaded(page: Page, peer: FullPeer, file: Shared): Promise<void> {
  await page.locator(`.download[data-file-id="${file.id}"][data-state="done"]`).waitFor({ timeout: 30_000 });
  const done = (await downloadsOf(peer)).find((d) => d.fileId === file.id)!;
  expect(sha256(readFileSync(done.finalPath!))).toBe(sha256(file.data));
}

describe('links in the web UI, in Chromium', () => {
  beforeAll(async () => {
    if (!webUiBuilt())
      throw new Error(
        `the web UI is not built (${WEB_DIST}/index.html is missing): run "npm run build:web" (npm ci runs it)`,
      );
    await ensureChromium();
  }, 600_000);

  it(
    'copies a link, fills forms from deep links without starting anything, and downloads a pasted link once clicked',
    { timeout: 120_000 },
    async () => {
      const holder = await startFullPeer();
      const newcomer = await startFullPeer(); // joined to nothing: the links' hints are its only way
      const first = await share(holder, 'Harbour lights #1 & co.mkv', 2 * 1024 * 1024 + 9);
      const second = await share(holder, 'harbour notes.txt', 5_000);
      const browser = await launchChromium();
      const problems: string[] = [];
      const open = async (url: string, origin: string) => {
        const context = await browser.newContext();
        await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
        const page = await context.newPage();
        page.on('pageerror', (e) => problems.push(e.message));
        const starts = startsOf(page); // from the first request the page makes
        await page.goto(url);
        return { page, starts };
      };

      // The holder's Copy link puts the file's link on the clipboard: the link the API lists.
      const { page: filesPage } = await open(`${holder.client}/#files`, holder.client);
      const row = filesPage.locator(`.file[data-file-id="${first.id}"]`);
      await row.getByRole('button', { name: `Copy the link to ${first.name}` }).click();
      await row.getByText('Link copied').waitFor();
      expect(await filesPage.evaluate('navigator.clipboard.readText()')).toBe(first.link);

      // Where the browser gives no Clipboard API, the link is shown selected, to copy by hand.
      const noClipboard = await browser.newPage();
      await noClipboard.addInitScript(
        "Object.defineProperty(Navigator.prototype, 'clipboard', { get: () => undefined })",
      );
      await noClipboard.goto(`${holder.client}/#files`);
      await noClipboard
        .locator(`.file[data-file-id="${first.id}"]`)
        .getByRole('button', { name: `Copy the link to ${first.name}` })
        .click();
      const field = noClipboard.getByRole('textbox', { name: `Link to ${first.name}` });
      expect(await field.inputValue()).toBe(first.link);
      expect(
        await field.evaluate((el: { selectionStart: number | null; selectionEnd: number | null }) => [
          el.selectionStart,
          el.selectionEnd,
        ]),
      ).toEqual([0, first.link.length]);

      // A deep link to a search fills the box and searches nothing.
      const { page: searchPage, starts: searchStarts } = await open(
        `${newcomer.client}/#/search?q=harbour%20lights`,
        newcomer.client,
      );
      expect(await searchPage.getByLabel('Search the network').inputValue()).toBe('harbour lights');
      await searchPage.getByTestId('link-preview').filter({ hasText: 'Paste a link' }).waitFor();

      // A deep link to a file fills the link box and shows what it names; nothing is queued...
      const { page, starts } = await open(`${newcomer.client}/#/get/${first.link}`, newcomer.client);
      const box = page.getByRole('textbox', { name: 'Download from a link' });
      await page
        .getByTestId('link-preview')
        .filter({ hasText: `${first.name} · 2.0 MiB · 1 peer named in the link` })
        .waitFor();
      expect(await box.inputValue()).toBe(first.link);
      expect(starts).toEqual([]);
      expect(await downloadsOf(newcomer)).toEqual([]);
      // ...until the click, which downloads it from the hint alone.
      await page.getByRole('button', { name: 'Download', exact: true }).click();
      await downloaded(page, newcomer, first);
      expect(starts).toEqual(['POST /downloads']);

      // A link pasted into the box is shown, and queued only on the click.
      await page.evaluate(`navigator.clipboard.writeText(${JSON.stringify(second.link)})`);
      await box.focus();
      await page.keyboard.press('ControlOrMeta+V');
      await page
        .getByTestId('link-preview')
        .filter({ hasText: `${second.name} · 4.9 KiB` })
        .waitFor();
      expect(await box.inputValue()).toBe(second.link);
      expect(starts).toEqual(['POST /downloads']);
      await page.getByRole('button', { name: 'Download', exact: true }).click();
      await downloaded(page, newcomer, second);
      expect(starts).toEqual(['POST /downloads', 'POST /downloads']);

      // What a hostile page might put in a deep link is only shown, refused, never sent.
      const { page: hostile, starts: hostileStarts } = await open(
        `${newcomer.client}/#/get/${first.link.replace(/name=[^&]+/, 'name=invoice%E2%80%AEtxt.exe')}`,
        newcomer.client,
      );
      await hostile
        .getByTestId('link-preview')
        .filter({ hasText: /Not a usable link: name: .*U\+202E/ })
        .waitFor();
      expect(await hostile.getByRole('button', { name: 'Download', exact: true }).isDisabled()).toBe(true);

      expect([...searchStarts, ...hostileStarts]).toEqual([]);
      expect(problems).toEqual([]);
    },
  );
});
