/**
 * The test hosts a deploy reaches over SSH (test/support/ssh-hosts.ts): from one host, the
 * test's key opens a shell on every host, itself included, and the command runs there (it sees
 * that host's address); another key is refused.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startSshd } from '../support/ssh-hosts.ts';
import { tempDir } from '../support/temp.ts';
import { canCreateHosts, createTestbed } from '../support/testbed.ts';

const run = promisify(execFile);

describe.skipIf(!canCreateHosts)('test hosts reached over SSH (needs root to create network namespaces)', () => {
  it(
    'opens each host with the test key, runs the command there, and refuses another key',
    { timeout: 120_000 },
    async () => {
      const bed = await createTestbed(3);
      const dir = tempDir();
      const { ssh } = await startSshd(bed.hosts, dir);
      const from = bed.hosts[0]!;
      for (const host of bed.hosts) {
        const { stdout } = await from.exec(ssh[0]!, [
          ...ssh.slice(1),
          `root@${host.ip}`,
          'ip',
          '-4',
          '-o',
          'addr',
          'show',
          'dev',
          'eth0',
        ]);
        expect(stdout).toContain(`inet ${host.ip}/24`);
      }

      const stranger = join(dir, 'stranger');
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
      const other = ssh.map((arg, i) => (ssh[i - 1] === '-i' ? stranger : arg));
      const refused = await from.exec(other[0]!, [...other.slice(1), `root@${bed.hosts[1]!.ip}`, 'true']).then(
        () => undefined,
        (err: { code?: number; stderr?: string }) => err,
      );
      expect(refused?.code).toBe(255);
      expect(refused?.stderr).toContain('Permission denied');
    },
  );
});
