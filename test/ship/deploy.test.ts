/**
 * A network in one command: `npm run deploy` (bin/deploy.js) with an inventory of 4 hosts made of
 * network namespaces, each running sshd (test/support/ssh-hosts.ts), each with a prefix and data
 * folder of its own. Three are like this machine, whose PID 1 is not systemd: the deploy
 * supervises their peers itself. The fourth boots systemd as its PID 1
 * (test/support/systemd-host.ts), so its peer is a systemd service, as on an Ubuntu host (where
 * systemd cannot boot here, that host is supervised too and the test says why). The deploy ships
 * a release built once here (the hosts cannot reach the registry) and returns once every peer
 * knows every other; a file shared on one host is then found and downloaded on the fourth. Run
 * again it changes nothing (not even the unit file) and sends no release; with a repacked release
 * it restarts every peer, and a download paused on the fourth survives to complete; `--stop`
 * stops every peer and disables the unit.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedRelease } from '../support/packed.ts';
import { startSshd } from '../support/ssh-hosts.ts';
import { bootSystemd, systemdUnavailable, type SystemdHost } from '../support/systemd-host.ts';
import { manyFilesDir, tempDir } from '../support/temp.ts';
import { Teardown } from '../support/teardown.ts';
import { canCreateHosts, createTestbed } from '../support/testbed.ts';

const DEPLOY = join(import.meta.dirname, '../../bin/deploy.js');
const DEPLOY_TIMEOUT_MS = 240_000;
const run = promisify(execFile);

/** Whether `pid` runs (not gone, not a zombie: orphans here may wait for a reaper). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Process ids whose process group is `pgid`. */
function group(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(!canCreateHosts)(
  'a network deployed over SSH in one command (needs root to create network namespaces)',
  () => {
    const teardown = new Teardown();
    let release = '';
    let unavailable: string | undefined;
    // Every host's prefix with two releases unpacked (8,000 files each): on a tmpfs.
    let dir = '';

    beforeAll(async () => {
      dir = manyFilesDir('peershare-deploy-', teardown.defer);
      // The release made in this run (by package.test.ts, when it came first): only read here.
      const made = await sharedRelease();
      release = made.release ?? '';
      unavailable = made.unreachable;
    }, 300_000);
    // Where no tmpfs could be mounted, removing the eight unpacked releases from a busy disk took over two minutes.
    afterAll(() => teardown.run(), 300_000);

    it(
      'deploys 4 peers that all know one another, moves a file between them, changes nothing when run again, upgrades keeping a paused download, and stops them',
      { timeout: 480_000 },
      async (ctx) => {
        if (unavailable) ctx.skip(unavailable);
        // On the tmpfs, which host3's systemd (booted below) sees: its mount namespace copies ours.
        const root = join(dir, 'hosts');
        mkdirSync(root);
        const bed = await createTestbed(4);
        const noSystemd = systemdUnavailable();
        if (noSystemd) await ctx.annotate(`host3 is supervised, not a systemd service: ${noSystemd}`);
        const systemd: SystemdHost | undefined = noSystemd
          ? undefined
          : await bootSystemd(bed.hosts[3]!, tempDir('peershare-systemd-'));
        const { ssh } = await startSshd(bed.hosts, tempDir(), undefined, (h) =>
          systemd && h === bed.hosts[3] ? systemd.enter : ['ip', 'netns', 'exec', h.ns],
        );
        const hosts = bed.hosts.map((h, i) => ({
          name: h.name,
          ssh: `root@${h.ip}`,
          address: h.ip,
          ...(i > 0 ? { join: bed.hosts[i - 1]!.name } : {}),
          prefix: join(root, h.name, 'prefix'),
          data: join(root, h.name, 'data'),
          // Fetch rounds every 200 ms, as in the other tests on these hosts; host3 downloads slowly
          // until the upgrade, so that a download is still queued then.
          settings: { fetchInterval: 200, ...(i === 3 ? { maxDownloadRate: '64KiB' } : {}) },
        }));
        const inventory = join(root, 'inventory.json');
        writeFileSync(inventory, JSON.stringify({ release, ssh: ssh.slice(1), hosts }, null, 2));
        const supervised = systemd ? hosts.slice(0, 3) : hosts;
        const supervisors = () => supervised.map((h) => Number(readFileSync(join(h.data, 'supervisor.pid'), 'utf8')));
        // The systemd service on host3, as systemctl shows it there (its MainPID is a pid of that host).
        const unit = 'peershare-host3.service';
        const service = async () => {
          const out = (
            await systemd!.exec('systemctl', ['show', unit, '-p', 'ActiveState,UnitFileState,MainPID,InvocationID'])
          ).stdout;
          return Object.fromEntries(
            out
              .trim()
              .split('\n')
              .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
          );
        };
        const unitFile = async () =>
          (await systemd!.exec('stat', ['-c', '%i %Y', `/etc/systemd/system/${unit}`])).stdout;
        // Whatever happens, no supervisor or peer outlives the test: each supervisor leads its own
        // process group (setsid), its peer in it.
        const leaders: number[] = [];
        ctx.onTestFinished(async () => {
          for (const h of hosts) {
            const file = join(h.data, 'supervisor.pid');
            if (existsSync(file)) leaders.push(Number(readFileSync(file, 'utf8')));
          }
          const left = leaders.flatMap(group).filter(alive);
          for (const pid of left) process.kill(pid, 'SIGKILL');
          // Not our children: nothing to await but their end, before their folders are removed.
          for (let round = 0; left.some(alive); round++) {
            if (round > 100) throw new Error(`processes ${left.filter(alive).join(' ')} outlived SIGKILL`);
            await new Promise((r) => setTimeout(r, 50));
          }
        });
        // What each host but the deployer's own received on its network, in bytes: whether the release went there.
        const received = () =>
          Promise.all(
            bed.hosts
              .slice(1)
              .map((h) => h.exec('cat', ['/sys/class/net/eth0/statistics/rx_bytes']).then((r) => Number(r.stdout))),
          );
        const releaseBytes = statSync(release).size;
        const deployer = bed.hosts[0]!;
        const deploy = (...args: string[]) =>
          run('ip', ['netns', 'exec', deployer.ns, process.execPath, DEPLOY, inventory, ...args], {
            timeout: DEPLOY_TIMEOUT_MS,
          }).catch((err: Error & { stdout?: string; stderr?: string }) => {
            throw new Error(`deploy ${args.join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? String(err)}`);
          });

        const first = await deploy();
        expect(first.stdout).toContain('network of 4 peers: every peer knows every other');
        for (const h of supervised)
          expect(first.stdout).toMatch(new RegExp(`^${h.name}: started .*\\(supervised`, 'm'));
        const pids = supervisors();
        leaders.push(...pids);
        let started: Record<string, string> = {};
        let file = '';
        if (systemd) {
          expect(first.stdout).toMatch(/^host3: started .*\(systemd: peershare-host3\.service\)$/m);
          started = await service();
          expect(started).toMatchObject({ ActiveState: 'active', UnitFileState: 'enabled' });
          // The peer is the unit's main process, from the deployed prefix, in the template's sandbox.
          const proc = (name: string) =>
            systemd.exec('cat', [`/proc/${started.MainPID}/${name}`]).then((r) => r.stdout);
          expect((await proc('cmdline')).split('\0')).toEqual(
            expect.arrayContaining(['start', '--data', hosts[3]!.data]),
          );
          expect(await proc('status')).toMatch(/^NoNewPrivs:\s+1$/m);
          expect(await proc('status')).toMatch(/^Seccomp:\s+2$/m);
          file = await unitFile();
        }

        const before = await received();
        const again = await deploy();
        for (const h of hosts) expect(again.stdout).toContain(`${h.name}: unchanged`);
        // The hosts have this release: it is not sent again.
        const noop = await received();
        for (const [i, n] of noop.entries()) expect(n - before[i]!).toBeLessThan(releaseBytes / 10);
        expect(again.stdout).toContain('network of 4 peers: every peer knows every other');
        expect(supervisors()).toEqual(pids);
        if (systemd) {
          expect(await service()).toEqual(started);
          expect(await unitFile()).toBe(file);
        }

        const content = randomBytes(300_000);
        const shared = join(root, 'shared');
        mkdirSync(shared);
        writeFileSync(join(shared, 'deployed-tram.bin'), content);
        const peershare = (i: number, args: string[]) =>
          bed.hosts[i]!.exec(join(hosts[i]!.prefix, 'current/bin/peershare'), args);
        await peershare(1, ['share', shared]);
        await peershare(3, ['get', '--name', 'deployed-tram', '--wait']);
        expect(readFileSync(join(hosts[3]!.data, 'downloads', 'deployed-tram.bin')).equals(content)).toBe(true);

        // Upgrade to a repacked release (and lift host3's cap) while host3 holds a paused download.
        writeFileSync(join(shared, 'deployed-queue.bin'), randomBytes(4 * 1024 * 1024));
        await peershare(1, ['share', join(shared, 'deployed-queue.bin')]);
        const queued = JSON.parse((await peershare(3, ['get', '--name', 'deployed-queue', '--json'])).stdout) as {
          download: { key: string; fileId: string };
        };
        await peershare(3, ['downloads', 'pause', queued.download.key]);
        const upgrade = join(root, 'peershare-0.1.1-upgrade.tar.gz');
        copyFileSync(release, upgrade);
        writeFileSync(
          inventory,
          JSON.stringify(
            {
              release: upgrade,
              ssh: ssh.slice(1),
              hosts: hosts.map((h) => ({ ...h, settings: { fetchInterval: 200 } })),
            },
            null,
            2,
          ),
        );
        const upgrading = await received();
        const upgraded = await deploy();
        for (const [i, n] of (await received()).entries()) expect(n - upgrading[i]!).toBeGreaterThan(releaseBytes);
        for (const h of hosts) expect(upgraded.stdout).toContain(`${h.name}: restarted with peershare-0.1.1-upgrade`);
        expect(upgraded.stdout).toContain('network of 4 peers: every peer knows every other');
        if (systemd) {
          const restarted = await service();
          expect(restarted).toMatchObject({ ActiveState: 'active', UnitFileState: 'enabled' });
          expect(restarted.InvocationID).not.toBe(started.InvocationID);
        }
        const downloads = JSON.parse((await peershare(3, ['downloads', '--json'])).stdout) as {
          downloads: Array<{ key: string; state: string }>;
        };
        expect(downloads.downloads.find((d) => d.key === queued.download.key)?.state).toBe('paused');
        await peershare(3, ['downloads', 'resume', queued.download.key]);
        await peershare(3, ['get', queued.download.fileId, '--wait']);
        expect(
          readFileSync(join(hosts[3]!.data, 'downloads', 'deployed-queue.bin')).equals(
            readFileSync(join(shared, 'deployed-queue.bin')),
          ),
        ).toBe(true);

        const current = supervisors();
        leaders.push(...current);
        const stopped = await deploy('--stop');
        for (const h of hosts) expect(stopped.stdout).toContain(`${h.name}: stopped`);
        expect([...pids, ...current].filter(alive)).toEqual([]);
        if (systemd)
          expect(await service()).toMatchObject({ ActiveState: 'inactive', UnitFileState: 'disabled', MainPID: '0' });
      },
    );
  },
);
