// `prepare`, which npm runs in a clone on `npm ci` and `npm install`, and before `npm pack`:
// builds the compiled peer (dist/) and the web UI (web/dist) with `npm run build`. Both builds
// need dev dependencies (typescript, vite). A production install from a clone
// (`npm ci --omit=dev`) has none: there it says what it leaves unbuilt and succeeds — the
// `peershare` command then runs the sources through tsx, without the web UI. Packing without
// them fails instead: the package must carry both builds.
import { spawnSync } from 'node:child_process';

const BUILD_TOOLS = ['typescript', 'vite', '@preact/preset-vite'];

function installed(name) {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}

const missing = BUILD_TOOLS.filter((name) => !installed(name));
if (missing.length === 0) {
  // npm_execpath is the npm that runs this script; a bare `npm` otherwise (run by hand).
  const npm = process.env.npm_execpath;
  const [command, args] = npm ? [process.execPath, [npm, 'run', 'build']] : ['npm', ['run', 'build']];
  const { status, error } = spawnSync(command, args, { stdio: 'inherit' });
  if (error) throw error;
  process.exit(status ?? 1);
}

const packing = ['pack', 'publish'].includes(process.env.npm_command ?? '');
const lines = packing
  ? [
      `peershare: cannot ${process.env.npm_command}: the build tools (${missing.join(', ')}) are not installed, and the package must carry the compiled peer and its web UI.`,
      '  Install the dev dependencies first: npm ci',
    ]
  : [
      `peershare: not built: the build tools (${missing.join(', ')}) are dev dependencies, not installed here (npm ci --omit=dev).`,
      '  The compiled peer (dist/) and the web UI (web/dist) are not built: `peershare` runs the TypeScript',
      '  sources through tsx, and its web UI page says the UI has not been built.',
      '  For a production install with both, install the packed package instead:',
      '  in a clone with dev dependencies, npm ci && npm pack; then npm install -g ./peershare-VERSION.tgz',
    ];
process.stderr.write(`${lines.join('\n')}\n`);
process.exit(packing ? 1 : 0);
