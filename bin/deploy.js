// `npm run deploy -- INVENTORY.json [--stop]`: a peershare network on the hosts an inventory
// names, over SSH. For each host in turn: unpack the release (`npm run release`) into its prefix
// unless it is there, point PREFIX/current at it, write the peer's config (DATA/config.json: its
// address, the host it joins, the RabbitMQ URL), and (re)start the peer under a small supervisor
// that restarts it when it fails, only if something changed or it is not running. Then it waits
// until every peer knows every other, and prints the network. Running it twice changes nothing;
// a new release rolls out host by host (a stopped peer keeps its queued downloads in DATA).
// `--stop` stops every peer. Hosts run the release with their own `node` (on the PATH of an SSH
// login) and need only `sh`, `tar`, `setsid`: no registry, no compiler.
//
// INVENTORY: { "release": "peershare-….tar.gz", "ssh": ["-i", "KEY", …] (options before each
// host), "amqp": "amqp://…" (optional), "hosts": [{ "name": "a", "ssh": "root@192.0.2.10",
// "address": "192.0.2.10" (what it binds and advertises), "join": "b" (another host's name),
// "prefix": "/opt/peershare", "data": "/var/lib/peershare", "settings": { any other setting of
// the config file, e.g. "maxDownloadRate": "10MiB" } }, …] }. Paths relative to the file.
import { execFile } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const SSH_TIMEOUT_MS = 120_000;
const MESH_TIMEOUT_MS = 90_000;
const POLL_MS = 1000;
const SUPERVISOR = `# peershare supervisor, written by deploy: restarts the peer when it fails, stops it on TERM.
P=$1 D=$2
echo $$ > "$D/supervisor.pid"
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; rm -f "$D/supervisor.pid"; exit 0' TERM INT
while :; do
  "$P/current/bin/peershare" start --data "$D" & child=$!
  wait "$child" && break
  sleep 2
done
rm -f "$D/supervisor.pid"
`;

const { values, positionals } = parseArgs({ allowPositionals: true, options: { stop: { type: 'boolean', default: false } } });
if (positionals.length !== 1) {
  process.stderr.write('usage: npm run deploy -- INVENTORY.json [--stop]\n');
  process.exit(2);
}
const inventoryFile = resolve(positionals[0]);
const inventory = JSON.parse(readFileSync(inventoryFile, 'utf8'));
const sshOptions = inventory.ssh ?? [];
const hosts = inventory.hosts.map((h) => ({ prefix: '/opt/peershare', data: '/var/lib/peershare', ...h }));
const byName = new Map(hosts.map((h) => [h.name, h]));
const q = (value) => `'${String(value).replace(/'/g, `'\\''`)}'`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Run `script` with sh on `host`, `input` (a file) on its stdin; resolves with stdout. */
function remote(host, script, input) {
  return new Promise((resolvePromise, reject) => {
    const child = execFile('ssh', [...sshOptions, host.ssh, script], { timeout: SSH_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${host.name} (${host.ssh}): ${stderr.trim() || err.message}`));
      else resolvePromise(stdout);
    });
    if (input) createReadStream(input).pipe(child.stdin);
    else child.stdin.end();
  });
}

const running = (h) => `pid=$(cat ${q(`${h.data}/supervisor.pid`)} 2>/dev/null) && kill -0 "$pid" 2>/dev/null`;

async function stop(h) {
  await remote(h, `if ${running(h)}; then kill -TERM "$pid"; i=0; while kill -0 "$pid" 2>/dev/null; do i=$((i+1)); [ $i -gt 300 ] && exit 1; sleep 0.1; done; echo stopped; fi`);
}

async function start(h) {
  await remote(h, `cd ${q(h.data)} && rm -f supervisor.pid && setsid -f sh ${q(`${h.prefix}/supervise.sh`)} ${q(h.prefix)} ${q(h.data)} >> peershare.log 2>&1 < /dev/null`);
}

/** Make `path` on the host hold `content`; true when it had to change. */
async function writeIfChanged(h, path, content) {
  const now = await remote(h, `cat ${q(path)} 2>/dev/null || true`);
  if (now === content) return false;
  await remote(h, `cat > ${q(`${path}.new`)} <<'PEERSHARE_EOF'\n${content}PEERSHARE_EOF\nmv ${q(`${path}.new`)} ${q(path)}`);
  return true;
}

async function status(h) {
  const bin = `${h.prefix}/current/bin/peershare`;
  const out = await remote(h, `${q(bin)} status --json && ${q(bin)} peers --json`);
  const [s, p] = out.trim().split('\n').map((line) => JSON.parse(line));
  return { id: s.peerId, alive: new Set(p.peers.filter((x) => x.state === 'alive').map((x) => x.peerId)), states: new Map(p.peers.map((x) => [x.peerId, x.state])) };
}

/** Wait until the peer on `h` answers its status. */
async function answering(h) {
  const deadline = Date.now() + MESH_TIMEOUT_MS;
  while (!(await status(h).then(() => true, () => false))) {
    if (Date.now() > deadline) throw new Error(`${h.name}: the peer did not answer within ${MESH_TIMEOUT_MS} ms (see ${h.data}/peershare.log)`);
    await sleep(POLL_MS);
  }
}

/** Put the release and the peer's config on `h`: whether anything changed, and whether its peer runs. */
async function install(h, release, name) {
  const dir = `${h.prefix}/releases/${name}`;
  const unpacked = await remote(
    h,
    `mkdir -p ${q(h.data)} ${q(`${h.prefix}/releases`)} && if [ ! -d ${q(dir)} ]; then rm -rf ${q(`${dir}.part`)} && mkdir ${q(`${dir}.part`)} && tar -xzf - -C ${q(`${dir}.part`)} && mv ${q(`${dir}.part`)} ${q(dir)}; else cat > /dev/null; fi; ` +
      `if [ "$(readlink ${q(`${h.prefix}/current`)})" != ${q(`releases/${name}`)} ]; then ln -sfn ${q(`releases/${name}`)} ${q(`${h.prefix}/current.new`)} && mv -T ${q(`${h.prefix}/current.new`)} ${q(`${h.prefix}/current`)} && echo switched; fi`,
    release,
  );
  const joins = h.join ? [byName.get(h.join).address] : [];
  const config = `${JSON.stringify({ ...h.settings, host: h.address, join: joins, ...(inventory.amqp ? { amqpUrl: inventory.amqp } : {}) }, null, 2)}\n`;
  const changed = [unpacked.includes('switched'), await writeIfChanged(h, `${h.data}/config.json`, config), await writeIfChanged(h, `${h.prefix}/supervise.sh`, SUPERVISOR)].some(Boolean);
  const up = (await remote(h, `${running(h)} && echo yes || true`)).trim() === 'yes';
  return { changed, up };
}

async function deploy(release) {
  const name = basename(release).replace(/\.tar\.gz$/, '');
  const states = await Promise.all(hosts.map((h) => install(h, release, name)));
  // Peers not running start together; running ones that changed restart one at a time, each
  // answering again before the next stops, so the network never loses more than one.
  await Promise.all(
    hosts.map(async (h, i) => {
      if (states[i].up) return;
      await start(h);
      await answering(h);
      process.stdout.write(`${h.name}: started ${name}\n`);
    }),
  );
  for (const [i, h] of hosts.entries()) {
    if (!states[i].up) continue;
    if (!states[i].changed) {
      process.stdout.write(`${h.name}: unchanged\n`);
      continue;
    }
    await stop(h);
    await start(h);
    await answering(h);
    process.stdout.write(`${h.name}: restarted with ${name}\n`);
  }
  const deadline = Date.now() + MESH_TIMEOUT_MS;
  for (;;) {
    const mesh = await Promise.all(hosts.map(status));
    const ids = mesh.map((s) => s.id);
    const missing = mesh.map((s) => ids.filter((id) => id !== s.id && !s.alive.has(id)).length);
    if (missing.every((n) => n === 0)) {
      for (const [i, h] of hosts.entries()) process.stdout.write(`${h.name}\t${h.address}\t${ids[i]}\t${mesh[i].alive.size} peers alive\n`);
      process.stdout.write(`network of ${hosts.length} peers: every peer knows every other\n`);
      return;
    }
    if (Date.now() > deadline) {
      // Say, for each host, which of the others it misses and how it holds them, and where its log is.
      const misses = hosts.map((h, i) => {
        const gaps = hosts.filter((_, j) => j !== i && !mesh[i].alive.has(ids[j])).map((o) => `${o.name} ${mesh[i].states.get(ids[hosts.indexOf(o)]) ?? 'not known'}`);
        return gaps.length === 0 ? undefined : `  ${h.name} misses ${gaps.join(', ')} (log: ${h.data}/peershare.log)`;
      });
      throw new Error(`after ${MESH_TIMEOUT_MS} ms, peers still unknown:\n${misses.filter(Boolean).join('\n')}`);
    }
    await sleep(POLL_MS);
  }
}

try {
  if (values.stop) {
    await Promise.all(
      hosts.map(async (h) => {
        await stop(h);
        process.stdout.write(`${h.name}: stopped\n`);
      }),
    );
  } else {
    await deploy(resolve(dirname(inventoryFile), inventory.release));
  }
} catch (err) {
  process.stderr.write(`deploy: ${err.message}\n`);
  process.exit(1);
}
