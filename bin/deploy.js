// `npm run deploy -- INVENTORY.json [--stop]`: a peershare network on the hosts an inventory
// names, over SSH. On every host at once: unpack the release (`npm run release`) into its prefix
// unless it is there, point PREFIX/current at it, write the peer's config (DATA/config.json: its
// address, the host it joins, the RabbitMQ URL), and (re)start the peer, only if something
// changed or it is not running. The release is sent only to hosts that lack it: each unpacked
// release records the SHA-256 of its tarball (PREFIX/releases/NAME/.tarball.sha256), and one of
// the same name from other bytes is replaced. Where systemd runs (PID 1: /run/systemd/system
// exists) and the SSH login is root, the peer is a system service: a unit of its own,
// /etc/systemd/system/peershare-NAME.service, made from deploy/systemd/peershare@.service (the
// same sandbox, Restart=on-failure) with the host's prefix, data folder and user, enabled and
// started; elsewhere a small supervisor started with setsid restarts the peer when it fails.
// Either way the peer's output goes to DATA/peershare.log. Then the deploy waits until every peer
// knows every other, and prints the network. Running it twice changes nothing (the unit, the
// config and the supervisor script are compared before they are written); a new release rolls
// out host by host (a peer stopped with SIGTERM keeps its queued downloads in DATA). `--stop`
// stops every peer (and disables its unit). Hosts run the release with their own `node` (on the
// PATH of an SSH login) and need only `sh`, `tar`, `setsid`: no registry, no compiler.
//
// INVENTORY: { "release": "peershare-….tar.gz", "ssh": ["-i", "KEY", …] (options before each
// host), "amqp": "amqp://…" (optional), "hosts": [{ "name": "a", "ssh": "root@192.0.2.10",
// "address": "192.0.2.10" (what it binds and advertises), "join": "b" (another host's name),
// "prefix": "/opt/peershare", "data": "/var/lib/peershare", "settings": { any other setting of
// the config file, e.g. "maxDownloadRate": "10MiB" } }, …] }. Paths relative to the file.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const SSH_TIMEOUT_MS = 120_000;
const MESH_TIMEOUT_MS = 90_000;
const POLL_MS = 1000;
/** How often, in seconds, a host asks the peer it started whether it answers (there: no SSH round trip). */
const HOST_POLL_S = 0.2;
/** The exit status of a script on a host whose peer did not answer in time. */
const NO_ANSWER = 3;
const TEMPLATE = new URL('../deploy/systemd/peershare@.service', import.meta.url);
const UNIT_DIR = '/etc/systemd/system';
/** In an unpacked release folder: the SHA-256 (hex) of the tarball it was unpacked from. */
const TARBALL_HASH = '.tarball.sha256';
/** systemd's own PATH for services, after the folder of the host's `node`. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
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

/** The systemd unit of the peer named `name` in an inventory: peershare-NAME.service, bytes a unit name cannot hold as \xNN. */
export function unitName(name) {
  const escaped = [...Buffer.from(String(name), 'utf8')].map((b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9:_.-]/.test(c) ? c : `\\x${b.toString(16).padStart(2, '0')}`;
  });
  return `peershare-${escaped.join('')}.service`;
}

/**
 * What to do with the release on a host, from what its folder PREFIX/releases/NAME holds:
 * `onHost` is the hash it records (TARBALL_HASH; '' when it records none, as a folder an older
 * deploy unpacked), undefined when there is no such folder; `sha256` the tarball's. `keep`: the
 * host has these bytes, and nothing is sent; `unpack`: it has none; `replace`: it has a release
 * of that name from other (or unknown) bytes, which the tarball replaces.
 */
export function releaseAction(onHost, sha256) {
  if (onHost === undefined) return 'unpack';
  return onHost === sha256 ? 'keep' : 'replace';
}

const under = (path, dir) => path === dir || path.startsWith(`${dir}/`);

/**
 * The unit of a deployed peer, made from the per-user template `template` (its text): the same
 * sandbox, restart and stop settings, with the peer's user, the release under `prefix`, its
 * `data` folder and the downloads folder (when not in it) writable, `node` looked up first in
 * `nodeDir`, and its output appended to DATA/peershare.log as under the supervisor. Its /tmp
 * and /var/tmp stay private as in the template: a prefix or folder there is bound into them
 * (BindReadOnlyPaths, BindPaths) instead of being listed in ReadWritePaths. Throws on paths it cannot write into a unit, and when the
 * template holds a per-user setting it does not know (so that the two cannot drift apart).
 */
export function systemdUnit(template, { name, user, prefix, data, downloads, nodeDir }) {
  const paths = [prefix, data, ...(downloads ? [downloads] : []), ...(nodeDir ? [nodeDir] : [])];
  for (const p of paths) {
    if (!p.startsWith('/') || /[\n\r\0]/.test(p))
      throw new Error(`${name}: ${JSON.stringify(p)} cannot be in a systemd unit (an absolute path on one line)`);
  }
  // systemd takes no quote in the path of a command, however written.
  if (/["']/.test(prefix))
    throw new Error(`${name}: systemd cannot run a command under ${JSON.stringify(prefix)} (quotes in the prefix)`);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(user))
    throw new Error(`${name}: cannot run a unit as user ${JSON.stringify(user)}`);
  // Specifiers (%) are doubled everywhere; in ExecStart and lists, each path is one quoted word,
  // and in the command's arguments (not its path) $ is doubled: systemd would expand $NAME.
  const raw = (p) => p.replace(/%/g, '%%');
  const word = (p) => `"${raw(p).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const arg = (p) => word(p).replace(/\$/g, '$$$$');
  const writable = [data, ...(downloads && !under(downloads, data) ? [downloads] : [])];
  // The peer's /tmp and /var/tmp are private: folders of its there are bound into them.
  const inTmp = (p) => under(p, '/tmp') || under(p, '/var/tmp');
  const list = (key, paths) => (paths.length === 0 ? [] : [`${key}=${paths.map(word).join(' ')}`]);
  const replaced = {
    Description: `Description=peershare peer ${raw(String(name))} (peershare deploy)`,
    User: `User=${user}`,
    StateDirectory: undefined,
    StateDirectoryMode: undefined,
    Environment: [
      `Environment=${word(`PATH=${nodeDir && !SYSTEM_PATH.split(':').includes(nodeDir) ? `${nodeDir}:` : ''}${SYSTEM_PATH}`)}`,
      `StandardOutput=append:${raw(`${data}/peershare.log`)}`,
      'StandardError=inherit',
    ],
    EnvironmentFile: undefined,
    ExecStart: `ExecStart=${word(`${prefix}/current/bin/peershare`)} start --data ${arg(data)}`,
    ReadWritePaths: [
      ...list(
        'ReadWritePaths',
        writable.filter((p) => !inTmp(p)),
      ),
      ...list('BindPaths', writable.filter(inTmp)),
      ...list('BindReadOnlyPaths', [prefix].filter(inTmp)),
    ],
  };
  const header = [
    `# The peer ${name}, written by peershare deploy (bin/deploy.js) from deploy/systemd/peershare@.service;`,
    "# the next deploy rewrites it. Output: the data folder's peershare.log.",
  ];
  const body = [];
  let started = false;
  for (const line of template.split('\n')) {
    if (!started) {
      started = line.startsWith('[');
      if (!started) continue;
    }
    const key = /^([A-Za-z]+)=/.exec(line)?.[1];
    if (key !== undefined && key in replaced) {
      body.push(...[replaced[key] ?? []].flat());
    } else {
      if (!line.startsWith('#') && /%[a-zA-Z]/.test(line))
        throw new Error(`deploy/systemd/peershare@.service has a per-user line the deploy does not know: ${line}`);
      body.push(line);
    }
  }
  return `${[...header, '', ...body].join('\n').trimEnd()}\n`;
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { stop: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) {
    process.stderr.write('usage: npm run deploy -- INVENTORY.json [--stop]\n');
    process.exit(2);
  }
  const inventoryFile = resolve(positionals[0]);
  const inventory = JSON.parse(readFileSync(inventoryFile, 'utf8'));
  const sshOptions = inventory.ssh ?? [];
  const hosts = inventory.hosts.map((h) => ({
    prefix: '/opt/peershare',
    data: '/var/lib/peershare',
    ...h,
    unit: unitName(h.name),
  }));
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const q = (value) => `'${String(value).replace(/'/g, `'\\''`)}'`;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const template = readFileSync(TEMPLATE, 'utf8');

  /** Run `script` with sh on `host`, `input` (a file) on its stdin; resolves with stdout. */
  function remote(host, script, input) {
    return new Promise((resolvePromise, reject) => {
      const child = execFile(
        'ssh',
        [...sshOptions, host.ssh, script],
        { timeout: SSH_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err)
            reject(
              Object.assign(new Error(`${host.name} (${host.ssh}): ${stderr.trim() || err.message}`), {
                code: err.code,
              }),
            );
          else resolvePromise(stdout);
        },
      );
      if (input) createReadStream(input).pipe(child.stdin);
      else child.stdin.end();
    });
  }

  /**
   * How the peer runs on `h`: under systemd where systemd is PID 1 and the login may manage
   * system units (root), under the supervisor otherwise; with the login's user and `node`. With
   * `name`, a release's: the hash its folder on `h` records, if there is one (h.releaseHash).
   */
  async function probe(h, name) {
    const dir = name && `${h.prefix}/releases/${name}`;
    const [systemd, user, release, node] = (
      await remote(
        h,
        `if [ -d /run/systemd/system ] && command -v systemctl > /dev/null; then [ "$(id -u)" = 0 ] && echo systemd || echo not-root; else echo none; fi; id -un; ` +
          `${dir ? `if [ -d ${q(dir)} ]; then echo "present $(cat ${q(`${dir}/${TARBALL_HASH}`)} 2>/dev/null)"; else echo absent; fi` : 'echo'}; ` +
          `command -v node || true`,
      )
    ).split('\n');
    h.releaseHash = release?.startsWith('present') ? release.slice('present'.length).trim() : undefined;
    h.systemd = systemd === 'systemd';
    h.user = user;
    h.nodeDir = node?.startsWith('/') ? dirname(node) : undefined;
    h.how = h.systemd
      ? `systemd: ${h.unit}`
      : systemd === 'not-root'
        ? 'supervised: systemd runs, but the SSH login is not root'
        : 'supervised';
  }

  const unitFile = (h) => `${UNIT_DIR}/${h.unit}`;
  const supervised = (h) => `pid=$(cat ${q(`${h.data}/supervisor.pid`)} 2>/dev/null) && kill -0 "$pid" 2>/dev/null`;
  const stopSupervisor = (h) =>
    `if ${supervised(h)}; then kill -TERM "$pid"; i=0; while kill -0 "$pid" 2>/dev/null; do i=$((i+1)); [ $i -gt 300 ] && exit 1; sleep 0.1; done; fi`;
  const running = (h) => (h.systemd ? `systemctl is-active --quiet ${q(h.unit)}` : supervised(h));

  /** Stop the peer on `h` (SIGTERM: it keeps its queued downloads) and disable its unit. */
  async function stop(h) {
    const unit = h.systemd
      ? `if [ -f ${q(unitFile(h))} ]; then systemctl disable --now --quiet ${q(h.unit)}; fi; `
      : '';
    await remote(h, `${unit}${stopSupervisor(h)}`);
  }

  const startScript = (h) =>
    h.systemd
      ? `systemctl enable --now --quiet ${q(h.unit)}`
      : `cd ${q(h.data)} && rm -f supervisor.pid && setsid -f sh ${q(`${h.prefix}/supervise.sh`)} ${q(h.prefix)} ${q(h.data)} >> peershare.log 2>&1 < /dev/null`;

  /**
   * Run `script`, which (re)starts the peer on `h`, and wait until the peer answers its status:
   * in the same SSH session, asking every HOST_POLL_S there, not over a new session each time.
   */
  async function startAnswering(h, script) {
    const bin = q(`${h.prefix}/current/bin/peershare`);
    try {
      await remote(
        h,
        `${script} && end=$(($(date +%s) + ${Math.ceil(MESH_TIMEOUT_MS / 1000)})) && ` +
          `until ${bin} status --json > /dev/null 2>&1; do [ "$(date +%s)" -lt "$end" ] || exit ${NO_ANSWER}; sleep ${HOST_POLL_S}; done`,
      );
    } catch (err) {
      if (err.code !== NO_ANSWER) throw err;
      throw new Error(`${h.name}: the peer did not answer within ${MESH_TIMEOUT_MS} ms (see ${logs(h)})`);
    }
  }

  /**
   * Lines of a script that make `path` hold `content` (a text ending in a newline): written
   * beside it and moved in only when they differ, printing `changed` then; `path` is left as it
   * was otherwise, not even touched. (Each side is read with an x after it: $(…) would drop
   * trailing newlines.)
   */
  const writeIfChanged = (path, content) => {
    const next = q(`${path}.new`);
    return (
      `cat > ${next} <<'PEERSHARE_EOF' || exit 1\n${content}PEERSHARE_EOF\n` +
      `if [ "$(cat ${next}; echo x)" = "$(cat ${q(path)} 2>/dev/null; echo x)" ]; then rm -f ${next}; ` +
      `else mv ${next} ${q(path)} || exit 1; echo changed; fi\n`
    );
  };

  async function status(h) {
    const bin = `${h.prefix}/current/bin/peershare`;
    const out = await remote(h, `${q(bin)} status --json && ${q(bin)} peers --json`);
    const [s, p] = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    return {
      id: s.peerId,
      alive: new Set(p.peers.filter((x) => x.state === 'alive').map((x) => x.peerId)),
      states: new Map(p.peers.map((x) => [x.peerId, x.state])),
    };
  }

  const logs = (h) => `${h.data}/peershare.log${h.systemd ? `, systemctl status ${h.unit}` : ''}`;

  /**
   * Put the release (`sha256`: its tarball's hash; sent only where releaseAction says) and the
   * peer's config (and unit, or supervisor) on `h`, in one SSH session: whether anything changed,
   * and whether its peer runs.
   */
  async function install(h, release, name, sha256) {
    const dir = `${h.prefix}/releases/${name}`;
    const action = releaseAction(h.releaseHash, sha256);
    // Unpacked beside, with its hash, then moved in: a folder of that name is whole or absent.
    // One it replaces goes at once; the peer running from it is restarted below.
    const unpack =
      action === 'keep'
        ? `[ -d ${q(dir)} ] || { echo ${q(`${dir} is gone`)} >&2; exit 1; }`
        : `rm -rf ${q(`${dir}.part`)} && mkdir ${q(`${dir}.part`)} && tar -xzf - -C ${q(`${dir}.part`)} && echo ${sha256} > ${q(`${dir}.part/${TARBALL_HASH}`)} && ` +
          `if [ -d ${q(dir)} ]; then rm -rf ${q(`${dir}.old`)} && mv ${q(dir)} ${q(`${dir}.old`)} && mv ${q(`${dir}.part`)} ${q(dir)} && rm -rf ${q(`${dir}.old`)} && echo changed; else mv ${q(`${dir}.part`)} ${q(dir)}; fi`;
    const joins = h.join ? [byName.get(h.join).address] : [];
    const config = `${JSON.stringify({ ...h.settings, host: h.address, join: joins, ...(inventory.amqp ? { amqpUrl: inventory.amqp } : {}) }, null, 2)}\n`;
    const script = [
      `mkdir -p ${q(h.data)} ${q(`${h.prefix}/releases`)} && ${unpack} || exit 1\n`,
      `if [ "$(readlink ${q(`${h.prefix}/current`)})" != ${q(`releases/${name}`)} ]; then ln -sfn ${q(`releases/${name}`)} ${q(`${h.prefix}/current.new`)} && mv -T ${q(`${h.prefix}/current.new`)} ${q(`${h.prefix}/current`)} && echo changed || exit 1; fi\n`,
      writeIfChanged(`${h.data}/config.json`, config),
    ];
    if (h.systemd) {
      const unit = systemdUnit(template, {
        name: h.name,
        user: h.user,
        prefix: h.prefix,
        data: h.data,
        downloads: h.settings?.downloadsDir,
        nodeDir: h.nodeDir,
      });
      // A peer an earlier deploy supervised on this host gives way to its unit; a running peer
      // whose unit someone disabled is enabled again, to start at boot.
      script.push(
        `unit=$(${writeIfChanged(unitFile(h), unit)}) || exit 1\n`,
        `if [ -n "$unit" ]; then echo changed; systemctl daemon-reload || exit 1; fi\n`,
        `${stopSupervisor(h)}\n`,
        `if ${running(h)}; then systemctl is-enabled --quiet ${q(h.unit)} || systemctl enable --quiet ${q(h.unit)}; echo up; fi\n`,
      );
    } else {
      script.push(writeIfChanged(`${h.prefix}/supervise.sh`, SUPERVISOR), `if ${running(h)}; then echo up; fi\n`);
    }
    const out = (await remote(h, script.join(''), action === 'keep' ? undefined : release)).split('\n');
    return { changed: out.includes('changed'), up: out.includes('up') };
  }

  async function deploy(release, name) {
    const sha256 = createHash('sha256').update(readFileSync(release)).digest('hex');
    const states = await Promise.all(hosts.map((h) => install(h, release, name, sha256)));
    // Peers not running start together; running ones that changed restart one at a time, each
    // answering again before the next stops, so the network never loses more than one.
    await Promise.all(
      hosts.map(async (h, i) => {
        if (states[i].up) return;
        await startAnswering(h, startScript(h));
        process.stdout.write(`${h.name}: started ${name} (${h.how})\n`);
      }),
    );
    for (const [i, h] of hosts.entries()) {
      if (!states[i].up) continue;
      if (!states[i].changed) {
        process.stdout.write(`${h.name}: unchanged (${h.how})\n`);
        continue;
      }
      await startAnswering(h, h.systemd ? `systemctl restart ${q(h.unit)}` : `${stopSupervisor(h)}; ${startScript(h)}`);
      process.stdout.write(`${h.name}: restarted with ${name} (${h.how})\n`);
    }
    const deadline = Date.now() + MESH_TIMEOUT_MS;
    for (;;) {
      const mesh = await Promise.all(hosts.map(status));
      const ids = mesh.map((s) => s.id);
      const missing = mesh.map((s) => ids.filter((id) => id !== s.id && !s.alive.has(id)).length);
      if (missing.every((n) => n === 0)) {
        for (const [i, h] of hosts.entries())
          process.stdout.write(`${h.name}\t${h.address}\t${ids[i]}\t${mesh[i].alive.size} peers alive\n`);
        process.stdout.write(`network of ${hosts.length} peers: every peer knows every other\n`);
        return;
      }
      if (Date.now() > deadline) {
        // Say, for each host, which of the others it misses and how it holds them, and where its log is.
        const misses = hosts.map((h, i) => {
          const gaps = hosts
            .filter((_, j) => j !== i && !mesh[i].alive.has(ids[j]))
            .map((o) => `${o.name} ${mesh[i].states.get(ids[hosts.indexOf(o)]) ?? 'not known'}`);
          return gaps.length === 0 ? undefined : `  ${h.name} misses ${gaps.join(', ')} (log: ${logs(h)})`;
        });
        throw new Error(`after ${MESH_TIMEOUT_MS} ms, peers still unknown:\n${misses.filter(Boolean).join('\n')}`);
      }
      await sleep(POLL_MS);
    }
  }

  try {
    const release = values.stop ? undefined : resolve(dirname(inventoryFile), inventory.release);
    const name = release && basename(release).replace(/\.tar\.gz$/, '');
    await Promise.all(hosts.map((h) => probe(h, name)));
    if (values.stop) {
      await Promise.all(
        hosts.map(async (h) => {
          await stop(h);
          process.stdout.write(`${h.name}: stopped (${h.how})\n`);
        }),
      );
    } else {
      await deploy(release, name);
    }
  } catch (err) {
    process.stderr.write(`deploy: ${err.message}\n`);
    process.exit(1);
  }
}

// Run as a program; imported (by its tests), it only lends systemdUnit, unitName and releaseAction.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) await main();
