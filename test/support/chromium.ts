/**
 * Debian's Chromium for the browser tests, driven by playwright-core (never a browser download).
 * When /usr/bin/chromium is missing it is installed with apt-get (the tests run as root); every
 * launch gets a fresh temporary profile, removed when the browser closes at the end of the test.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { onTestFinished } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

function aptGet(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('apt-get', args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`apt-get ${args.join(' ')} exited with ${code}`)),
    );
  });
}

/** Make sure Debian's Chromium is installed: apt-get install it (after an update if need be). */
export async function ensureChromium(): Promise<void> {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0)
    throw new Error(`${CHROMIUM} is missing and this is not root: install it with "apt-get install -y chromium"`);
  try {
    await aptGet(['install', '-y', '--no-install-recommends', 'chromium']);
  } catch {
    await aptGet(['update']);
    await aptGet(['install', '-y', '--no-install-recommends', 'chromium']);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is still missing`);
}

/** Launch headless Chromium with a fresh profile (and any extra flags); closed when the test ends. */
export async function launchChromium(extraFlags: readonly string[] = []): Promise<Browser> {
  await ensureChromium();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...FLAGS, ...extraFlags] });
  onTestFinished(() => browser.close());
  return browser;
}
