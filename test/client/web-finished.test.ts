/**
 * Finished downloads in the web UI, in Chromium (playwright-core) against two whole peers: the
 * user picks the folder a download is saved into (as --out does), and once it is done the row
 * shows the full saved path with a copy button, and a link that has the browser save the file —
 * always as an attachment under a sandboxing policy, so a downloaded HTML page is never rendered
 * on the UI's origin. Cleared from the list by any client, the row goes.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { WEB_DIST, webUiBuilt } from '../../src/client/adapters/http/web-ui.ts';
import { ensureChromium, launchChromium } from '../support/chromium.ts';
import { startFullPeer } from '../support/full-peer.ts';
import { tempDir } from '../support/temp.ts';

/** A page that would run a script if a browser rendered it. */
const HOSTILE_PAGE =
  '<!doctype html><title>lure</title><script>document.title = "ran"; window.opener && window.opener.postMessage("ran", "*")</script>';

describe('finished downloads in the web UI, in Chromium', () => {
  beforeAll(async () => {
    if (!webUiBuilt())
      throw new Error(
        `the web UI is not built (${WEB_DIST}/index.html is missing): run "npm run build:web" (npm ci runs it)`,
      );
    await ensureChromium();
  }, 600_000);

  it(
    'saves into the folder the user picked, shows the full path with copy, and has the browser save the file as an attachment, never rendered',
    { timeout: 90_000 },
    async () => {
      const holder = await startFullPeer();
      const me = await startFullPeer();
      const path = join(tempDir(), 'lure page.html');
      writeFileSync(path, HOSTILE_PAGE);
      const shared = (await (
        await fetch(`${holder.client}/shares`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path }),
        })
      ).json()) as { files: Array<{ id: string; link: string }> };
      const { link } = shared.files[0]!;
      const folder = tempDir();

      const browser = await launchChromium();
      try {
        const context = await browser.newContext({ acceptDownloads: true });
        await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: me.client });
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(e.message));
        await page.goto(`${me.client}/`);

        // A relative folder is refused on the spot; the whole path is taken.
        const into = page.getByRole('textbox', { name: 'Save downloads into' });
        await into.fill('Music');
        await page.getByText("give the whole path of a folder on the peer's machine").waitFor();
        await into.fill(folder);
        await page.getByText('A folder on the peer').waitFor();

        await page.getByRole('textbox', { name: 'Download from a link' }).fill(link);
        await page.getByRole('button', { name: 'Download', exact: true }).click();
        const saved = join(folder, 'lure page.html');
        const row = page.locator('.download[data-state="done"]');
        await row.waitFor({ timeout: 30_000 });
        await row.getByText(saved).waitFor();
        expect(readFileSync(saved, 'utf8')).toBe(HOSTILE_PAGE);

        await row.getByRole('button', { name: 'Copy the path of lure page.html' }).click();
        await row.getByText('Path copied').waitFor();
        expect(await page.evaluate('navigator.clipboard.readText()')).toBe(saved);

        // "Save in browser": a download the browser saves, with the file's bytes.
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          row.getByRole('link', { name: 'Save lure page.html from the browser' }).click(),
        ]);
        expect(download.suggestedFilename()).toBe('lure page.html');
        expect(readFileSync(await download.path(), 'utf8')).toBe(HOSTILE_PAGE);
        // Opened directly, the answer is still an attachment, sandboxed and not sniffed: the page's script never runs here.
        const href = (await row
          .getByRole('link', { name: 'Save lure page.html from the browser' })
          .getAttribute('href'))!;
        const answer = await fetch(`${me.client}${href}`);
        expect(answer.headers.get('content-disposition')).toBe(`attachment; filename*=UTF-8''lure%20page.html`);
        expect(answer.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'");
        expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
        expect(answer.headers.get('content-type')).toBe('application/octet-stream');
        expect(await answer.text()).toBe(HOSTILE_PAGE);
        expect(await page.title()).not.toBe('ran');
        expect(problems).toEqual([]);
        // Once the user deletes the file, the link says so instead of serving anything.
        rmSync(saved);
        const gone = await fetch(`${me.client}${href}`);
        expect(gone.status).toBe(404);
        expect(await gone.json()).toMatchObject({
          error: {
            code: 'FILE_NOT_FOUND',
            message: expect.stringContaining(`the downloaded file is no longer at ${saved}`),
          },
        });
        // Cleared from the list (here by another client, as `peershare downloads clear` would), the row goes.
        expect(
          (await fetch(`${me.client}/downloads`, { method: 'DELETE', headers: { 'x-peershare-client': 'test' } }))
            .status,
        ).toBe(200);
        await row.waitFor({ state: 'detached' });
      } finally {
        await browser.close();
      }
    },
  );

  it(
    "a shared folder: its link is copied from the holder's Shared files, and pasted on another peer it downloads the tree into the folder picked; a search finds it too",
    { timeout: 120_000 },
    async () => {
      const holder = await startFullPeer();
      const me = await startFullPeer({ join: holder.host });
      const root = join(tempDir(), 'Harbour trip');
      const tree: Record<string, Buffer> = {
        'map.txt': Buffer.from('pier 3, then left\n'),
        'photos/quay.jpg': randomBytes(200_000),
      };
      for (const [path, data] of Object.entries(tree)) {
        mkdirSync(join(root, path, '..'), { recursive: true });
        writeFileSync(join(root, path), data);
      }
      const shared = (await (
        await fetch(`${holder.client}/shares`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path: root }),
        })
      ).json()) as { collection: { id: string; link: string } };
      const into = tempDir();

      const browser = await launchChromium();
      try {
        const context = await browser.newContext();
        await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: holder.client });
        const theirs = await context.newPage();
        await theirs.goto(`${holder.client}/#files`);
        const folder = theirs
          .getByRole('list', { name: 'Shared folders' })
          .getByRole('listitem')
          .filter({ hasText: 'Harbour trip/' });
        await folder.getByText('2 files').waitFor();
        await folder.getByRole('button', { name: 'Copy the link to folder Harbour trip' }).click();
        const link = String(await theirs.evaluate('navigator.clipboard.readText()'));
        expect(link).toBe(shared.collection.link);

        const page = await browser.newPage();
        await page.goto(`${me.client}/`);
        await page.getByRole('textbox', { name: 'Save downloads into' }).fill(into);
        await page.getByRole('textbox', { name: 'Download from a link' }).fill(link);
        await page.getByTestId('link-preview').filter({ hasText: 'Folder Harbour trip' }).waitFor();
        await page.getByRole('button', { name: 'Download', exact: true }).click();
        await page.getByText(`Queued folder Harbour trip: 2 files into ${join(into, 'Harbour trip')}`).waitFor();
        await expect.poll(() => page.locator('.download[data-state="done"]').count(), { timeout: 30_000 }).toBe(2);
        for (const [path, data] of Object.entries(tree))
          expect(readFileSync(join(into, 'Harbour trip', path)).equals(data), path).toBe(true);

        // Searched for by its name, the folder is one result, marked as such; Download queues its tree.
        await expect
          .poll(async () => ((await (await fetch(`${me.search}/links`)).json()) as { links: unknown[] }).links.length, {
            timeout: 60_000,
          })
          .toBe(1);
        const again = tempDir();
        await page.getByRole('textbox', { name: 'Save downloads into' }).fill(again);
        await page.getByRole('searchbox', { name: 'Search the network' }).fill('harbour trip');
        await page.getByRole('button', { name: 'Search', exact: true }).click();
        const result = page.locator(`.result[data-file-id="${shared.collection.id}"]`);
        await result.getByText('Folder', { exact: true }).waitFor({ timeout: 30_000 });
        await result.getByText('2 files', { exact: false }).waitFor();
        await result.getByRole('button', { name: 'Download Harbour trip' }).click();
        await result.getByText(`Queued 2 files into ${join(again, 'Harbour trip')}`).waitFor();
        await expect.poll(() => page.locator('.download[data-state="done"]').count(), { timeout: 30_000 }).toBe(4);
        for (const [path, data] of Object.entries(tree))
          expect(readFileSync(join(again, 'Harbour trip', path)).equals(data), path).toBe(true);
      } finally {
        await browser.close();
      }
    },
  );
});
