/**
 * The speed limits in the web UI, in Chromium (playwright-core) against a whole peer: the form
 * shows the caps in force, takes rates as the CLI does, refuses what is not one before anything
 * is sent, and Apply puts them in force at once and in the peer's config file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { WEB_DIST, webUiBuilt } from '../../src/client/adapters/http/web-ui.ts';
import { ensureChromium, launchChromium } from '../support/chromium.ts';
import { startFullPeer } from '../support/full-peer.ts';

describe('speed limits in the web UI, in Chromium', () => {
  beforeAll(async () => {
    if (!webUiBuilt())
      throw new Error(
        `the web UI is not built (${WEB_DIST}/index.html is missing): run "npm run build:web" (npm ci runs it)`,
      );
    await ensureChromium();
  }, 600_000);

  it(
    'shows the caps in force, refuses a rate it cannot read, and applies new ones at once, kept in the config file',
    { timeout: 60_000 },
    async () => {
      const peer = await startFullPeer({ maxDownloadRate: '1MiB' });
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(e.message));
        await page.goto(`${peer.client}/`);
        const form = page.getByRole('form', { name: 'Speed limits' });
        const status = form.getByTestId('limits-status');
        await status.filter({ hasText: 'Now: download 1.0 MiB/s, upload no cap' }).waitFor();
        const download = form.getByRole('textbox', { name: 'Download' });
        const upload = form.getByRole('textbox', { name: 'Upload' });
        const apply = form.getByRole('button', { name: 'Apply' });
        expect(await download.inputValue()).toBe('1MiB');
        expect(await apply.isDisabled()).toBe(true); // nothing changed yet

        await upload.fill('fast');
        await status.filter({ hasText: 'Type a rate per second such as 5MiB' }).waitFor();
        expect(await upload.getAttribute('aria-invalid')).toBe('true');
        expect(await apply.isDisabled()).toBe(true);

        await download.fill('');
        await upload.fill('512KiB/s');
        await apply.click();
        const config = join(peer.dataDir, 'config.json');
        await status
          .filter({ hasText: `Now: download no cap, upload 512 KiB/s · applied, and kept in ${config}` })
          .waitFor();
        expect(await (await fetch(`${peer.client}/limits`)).json()).toEqual({
          maxDownloadRate: 0,
          maxUploadRate: 512 * 1024,
          keptIn: config,
        });
        expect(JSON.parse(readFileSync(config, 'utf8'))).toMatchObject({
          maxDownloadRate: 0,
          maxUploadRate: 512 * 1024,
        });
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
      }
    },
  );
});
