// `npm run release [-- --out DIR] [--package PKG.tgz]`: a release for hosts that cannot reach
// the npm registry or have no compiler: the package (`npm pack`, unless --package names one)
// installed with its production dependencies into a prefix, tarred. Unpacked into any prefix
// (`tar -xzf RELEASE -C PREFIX`) it is PREFIX/bin/peershare, as `npm install -g --prefix PREFIX`
// would leave it. Native modules (better-sqlite3) are the ones this clone's `npm ci` compiled,
// so the release runs on hosts with this platform, CPU architecture and node ABI, which its
// name and release.json record; a version this clone lacks is compiled here.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { out: { type: 'string', default: '.' }, package: { type: 'string' } } });
const out = resolve(values.out);
const npm = (args, cwd) => execFileSync('npm', args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const versionOf = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;

const work = mkdtempSync(join(tmpdir(), 'peershare-release-'));
try {
  let tarball = values.package && resolve(values.package);
  if (!tarball) {
    npm(['pack', '--pack-destination', work], root);
    tarball = join(
      work,
      readdirSync(work).find((f) => f.endsWith('.tgz')),
    );
  }
  const stage = join(work, 'stage');
  mkdirSync(stage);
  npm(
    [
      'install',
      '-g',
      '--prefix',
      stage,
      '--omit=dev',
      '--ignore-scripts',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarball,
    ],
    work,
  );
  const installed = join(stage, 'lib/node_modules/peershare');
  const { name, version } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));

  // Install scripts did not run: give each native module its compiled binaries.
  const modules = join(installed, 'node_modules');
  const packages = readdirSync(modules).flatMap((d) =>
    d.startsWith('@') ? readdirSync(join(modules, d)).map((s) => `${d}/${s}`) : [d],
  );
  for (const pkg of packages.filter((p) => existsSync(join(modules, p, 'binding.gyp')))) {
    const ours = join(root, 'node_modules', pkg);
    const release = join(ours, 'build/Release');
    if (existsSync(release) && versionOf(ours) === versionOf(join(modules, pkg))) {
      const target = join(modules, pkg, 'build/Release');
      mkdirSync(target, { recursive: true });
      for (const f of readdirSync(release).filter((f) => f.endsWith('.node')))
        cpSync(join(release, f), join(target, f));
    } else {
      npm(['rebuild', pkg], installed);
    }
  }

  const target = { platform: process.platform, arch: process.arch, modules: process.versions.modules };
  writeFileSync(
    join(installed, 'release.json'),
    `${JSON.stringify({ name, version, node: process.version, ...target }, null, 2)}\n`,
  );
  mkdirSync(out, { recursive: true });
  const file = join(out, `${name}-${version}-${target.platform}-${target.arch}-node${target.modules}.tar.gz`);
  execFileSync('tar', ['-czf', file, '-C', stage, 'bin', 'lib']);
  process.stdout.write(`${file}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
