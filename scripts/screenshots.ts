/**
 * `npm run screenshots`: the web UI's views, captured in Chromium from a demo network (the same
 * five peers and sample files as `npm run demo`, on 127.0.0.2-6, which must be free) into
 * docs/screenshots/, which the README shows. Run it after a change to the UI (`npm run build:web`
 * first) and commit the images it writes.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { webUiBuilt, WEB_DIST } from '../src/client/adapters/http/web-ui.ts';
import { startDemoPeers, stopDemoPeers, waitForDemoNetwork, type DemoPeer } from '../src/demo/demo-network.ts';
import { silentLogger } from '../src/shared/logging.ts';

const OUT = join(import.meta.dirname, '../docs/screenshots');
const CHROMIUM = '/usr/bin/chromium';
const VIEWPORT = { width: 1280, height: 820 };

if (!webUiBuilt()) {
  process.stderr.write(`the web UI is not built (${WEB_DIST}/index.html is missing): run npm run build:web first\n`);
  process.exit(1);
}
const root = mkdtempSync(join(tmpdir(), 'peershare-screenshots-'));
const peers: DemoPeer[] = [];
try {
  await startDemoPeers({ peers: 5, firstHost: '127.0.0.2', root, logger: silentLogger() }, peers);
  if (!(await waitForDemoNetwork(peers, 60_000))) throw new Error('the demo network did not form within 60 s');
  const ui = `http://${peers[0]!.host}:7870`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: VIEWPORT, colorScheme: 'light' });
    mkdirSync(OUT, { recursive: true });
    const shot = async (name: string) => {
      await page.screenshot({ path: join(OUT, `${name}.png`) });
      process.stdout.write(`docs/screenshots/${name}.png\n`);
    };

    // Search: hits from the peers that answered, a download running and one done.
    await page.goto(`${ui}/`);
    await page.getByLabel('Search the network').fill('lisbon');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.locator('.result').first().waitFor();
    await page
      .getByText(/answered/)
      .first()
      .waitFor();
    await page
      .locator('.result')
      .first()
      .getByRole('button', { name: /Download/ })
      .click();
    await page.locator('.download[data-state="done"]').first().waitFor({ timeout: 60_000 });
    await shot('search');

    await page.getByRole('tab', { name: 'Shared files' }).click();
    await page.locator('.file').first().waitFor();
    await shot('files');

    await page.getByRole('tab', { name: 'Network' }).click();
    await page.locator('.node').nth(4).waitFor();
    await shot('network');
  } finally {
    await browser.close();
  }
} finally {
  await stopDemoPeers(peers);
  rmSync(root, { recursive: true, force: true });
}
