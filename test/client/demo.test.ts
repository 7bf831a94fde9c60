/**
 * `npm run demo` / `peershare demo`, run as a real process: it says when it is ready, the peer
 * whose web UI it prints answers, a search from that peer finds sample files held by the others,
 * and Ctrl-C (SIGINT) stops every peer, leaves no process and no temporary data behind.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { nextLoopback } from '../support/loopback.ts';
import { BIN } from '../support/run-command.ts';

const READY_TIMEOUT_MS = 90_000;

interface Hit {
  name: string;
  holderPeerId: string;
}

/** Resolves with everything printed so far once `text` appears; rejects if the process exits first. */
function waitFor(child: ReturnType<typeof spawn>, output: () => string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "${text}" after ${READY_TIMEOUT_MS} ms:\n${output()}`)),
      READY_TIMEOUT_MS,
    );
    const check = () => {
      if (!output().includes(text)) return;
      clearTimeout(timer);
      child.stderr!.off('data', check);
      resolve(output());
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${code}) before "${text}":\n${output()}`));
    });
  });
}

describe('the demo network', () => {
  it('is the npm script the README names', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.demo).toBe('node bin/peershare.js demo');
  });

  it(
    'starts 5 peers with sample files, answers a search from its printed peer, and Ctrl-C removes it all',
    { timeout: 150_000 },
    async () => {
      const first = nextLoopback();
      // Its own process group, as a terminal's foreground job: Ctrl-C signals the whole group.
      const child = spawn(process.execPath, [BIN, 'demo', '--host', first], {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      });
      const exited = once(child, 'exit');
      // eslint-disable-next-line prefer-const -- read by the clean-up registered before it is set, which may run first (a const would throw there)
      let dataDir: string | undefined;
      onTestFinished(async () => {
        if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
        await exited;
        if (dataDir) rmSync(dataDir, { recursive: true, force: true }); // a killed demo cannot remove it
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));

      const banner = await waitFor(child, () => stderr, 'Ctrl-C stops every peer');
      expect(banner).toMatch(/^peershare demo: ready: 5 peers, \d+ files shared, every peer linked to the others$/m);
      dataDir = /data in (\S+) \(deleted on exit\)/.exec(banner)![1]!;
      expect(existsSync(dataDir)).toBe(true);
      const webUi = /^ {2}web UI +(http:\/\/\S+\/)/m.exec(banner)![1]!;
      expect(webUi).toBe(`http://${first}:${DEFAULT_PORTS.clientPort}/`);
      const peerLines = [...banner.matchAll(/^ {2}peer (\d) +(127\.[\d.]+) +([a-z2-7]{12}) +(\d+) files$/gm)];
      expect(peerLines.map((m) => m[1])).toEqual(['1', '2', '3', '4', '5']);
      const hosts = peerLines.map((m) => m[2]!);
      expect(hosts[0]).toBe(first);

      const status = (await (await fetch(new URL('status', webUi))).json()) as {
        peerId: string;
        counts: { alivePeers: number };
      };
      expect(status.peerId.slice(0, 12)).toBe(peerLines[0]![3]);
      expect(status.counts.alivePeers).toBe(4);

      // "lisbon" names files on every peer: the printed one holds two, the others hear from all.
      const found = (await (await fetch(new URL('search?q=lisbon&wait=1&timeout=2000', webUi))).json()) as {
        hits: Hit[];
      };
      const holders = new Set(found.hits.map((h) => h.holderPeerId.slice(0, 12)));
      expect(holders).toEqual(new Set(peerLines.map((m) => m[3])));
      expect(found.hits.filter((h) => h.name === 'lisbon-tram-ride.mp4')).toHaveLength(3);

      process.kill(-child.pid!, 'SIGINT');
      const [code] = await exited;
      expect(code).toBe(0);
      expect(stderr).toContain(`peershare demo: stopped; deleted ${dataDir}\n`);
      expect(existsSync(dataDir)).toBe(false);
      // No process of the demo is left (its group is empty), and no peer answers any more.
      expect(() => process.kill(-child.pid!, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
      for (const host of hosts)
        await expect(fetch(`http://${host}:${DEFAULT_PORTS.clientPort}/health`)).rejects.toThrow();
    },
  );
});
