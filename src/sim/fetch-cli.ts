/**
 * `npm run sim -- fetch [--peers N[,N…]] [--seed X[,X…]] [--rounds R] [--steady-rounds S]
 * [--files F] [--delivery service|together|in-turn|timed] [--latency-median MS] [--latency-sigma S]
 * [--handshake-legs L] [--start join|warm] [--max-peers M] [--records-per-answer R] [--news-push P]
 * [--loss P] [--churn RATE --churn-rounds R]
 * [--news-until all|known] [--json FILE]`: membership and file availability on
 * simulated networks of the project's own Fetch cores (fetch-sim.ts). Every (peers, seed) is one
 * row of the markdown table printed and of the JSON written. --rounds caps each phase (join,
 * news, settle); --files is the files every peer shares from the start; --start warm skips the
 * join (every peer starts knowing all, or a random maxPeers of them); --max-peers the table cap
 * (below N − 1: a partial view); --records-per-answer the most records an answer carries
 * (maxRecordsPerAnswer); --news-push the requests carrying only news a full table sends a round
 * (newsPushPerRound); --loss the probability a request is lost; --churn the fraction of live peers
 * that crash (and as many that join) each round of a churn phase after the news;
 * --delivery how a round's answers are applied (fetch-network.ts); --latency-median and
 * --latency-sigma the lognormal one-way delay of `timed` delivery (fetch-timed.ts), --handshake-legs
 * the legs a first contact (probe, join address) makes before its request (TCP + TLS 1.3: 4); --news-until known ends the news
 * phase once the newcomer is known by all (not waiting for it to know all, nor for the new file). Tuning as `bench -- join`:
 * fanout 3, the other settings default.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fetchMarkdownTable, fetchScaleTable } from './fetch-report.ts';
import { runFetchSim, type FetchMeasure } from './fetch-sim.ts';
import { DEFAULT_FETCH_LATENCY, DELIVERIES } from './fetch-network.ts';

export const USAGE =
  'usage: npm run sim -- fetch [--peers N[,N…]] [--seed X[,X…]] [--rounds R] [--steady-rounds S] [--files F] [--delivery service|together|in-turn|timed] [--latency-median MS] [--latency-sigma S] [--handshake-legs L] [--start join|warm] [--max-peers M] [--records-per-answer R] [--news-push P] [--loss P] [--churn RATE --churn-rounds R] [--news-until all|known] [--json FILE]';
/** The tuning of `bench -- join` (bench/join.ts), so that the two compare. */
export const BENCH_JOIN_TUNING = { fanout: 3, suspectAfterRounds: 5, downAfterRounds: 10 };

export async function fetchMain(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      peers: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '500' },
      'steady-rounds': { type: 'string', default: '5' },
      files: { type: 'string', default: '1' },
      delivery: { type: 'string', default: 'service' },
      'latency-median': { type: 'string', default: String(DEFAULT_FETCH_LATENCY.medianMs) },
      'latency-sigma': { type: 'string', default: String(DEFAULT_FETCH_LATENCY.sigma) },
      'handshake-legs': { type: 'string', default: '0' },
      start: { type: 'string', default: 'join' },
      'max-peers': { type: 'string' },
      'records-per-answer': { type: 'string' },
      'news-push': { type: 'string' },
      loss: { type: 'string', default: '0' },
      churn: { type: 'string', default: '0' },
      'churn-rounds': { type: 'string', default: '20' },
      'news-until': { type: 'string', default: 'all' },
      json: { type: 'string' },
    },
  });
  const list = (text: string) =>
    text.split(',').map((x) => {
      const n = Number(x);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a count: ${x}\n${USAGE}`);
      return n;
    });
  const maxRounds = Number(values.rounds);
  const delivery = DELIVERIES.find((d) => d === values.delivery);
  if (delivery === undefined) throw new Error(`--delivery is one of ${DELIVERIES.join(', ')}\n${USAGE}`);
  const latency = {
    medianMs: Number(values['latency-median']),
    sigma: Number(values['latency-sigma']),
    handshakeLegs: Number(values['handshake-legs']),
  };
  if (!(
    latency.medianMs > 0 &&
    latency.sigma >= 0 &&
    Number.isSafeInteger(latency.handshakeLegs) &&
    latency.handshakeLegs >= 0
  ))
    throw new Error(`--latency-median is > 0 ms, --latency-sigma >= 0, --handshake-legs a count\n${USAGE}`);
  const timed = delivery === 'timed';
  const start = values.start;
  if (start !== 'join' && start !== 'warm') throw new Error(`--start is join or warm\n${USAGE}`);
  const fraction = (text: string, name: string) => {
    const p = Number(text);
    if (!(p >= 0 && p < 1)) throw new Error(`--${name} is a probability in [0, 1)\n${USAGE}`);
    return p;
  };
  const newsUntil = values['news-until'];
  if (newsUntil !== 'all' && newsUntil !== 'known') throw new Error(`--news-until is all or known\n${USAGE}`);
  const loss = fraction(values.loss, 'loss');
  const churnRate = fraction(values.churn, 'churn');
  const churn = churnRate > 0 ? { rate: churnRate, rounds: Number(values['churn-rounds']) } : undefined;
  const maxPeers = values['max-peers'] === undefined ? undefined : (list(values['max-peers'])[0] as number);
  const perAnswer = values['records-per-answer'];
  const maxRecordsPerAnswer = perAnswer === undefined ? undefined : (list(perAnswer)[0] as number);
  const newsPush = values['news-push'];
  const newsPushPerRound = newsPush === undefined ? undefined : (list(newsPush)[0] as number);
  const tuning = {
    ...BENCH_JOIN_TUNING,
    ...(maxPeers !== undefined ? { maxPeers } : {}),
    ...(maxRecordsPerAnswer !== undefined ? { maxRecordsPerAnswer } : {}),
    ...(newsPushPerRound !== undefined ? { newsPushPerRound } : {}),
  };
  const commandLine = `npm run sim -- fetch ${args.join(' ')}`.trim();
  const rows: FetchMeasure[] = [];
  for (const peers of list(values.peers)) {
    for (const seed of list(values.seed)) {
      let last = performance.now();
      const progress = (phase: string, round: number) => {
        if (performance.now() - last < 10_000) return;
        last = performance.now();
        console.error(
          `  ${peers} peers, seed ${seed}: ${phase} round ${round}, RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`,
        );
      };
      const row = await runFetchSim({
        peers,
        seed,
        maxRounds,
        steadyRounds: Number(values['steady-rounds']),
        filesPerPeer: Number(values.files),
        tuning,
        delivery,
        ...(timed ? { latency } : {}),
        start,
        loss,
        newsUntil,
        ...(churn ? { churn } : {}),
        progress,
      });
      rows.push(row);
      console.error(`${peers} peers, seed ${seed}: ${row.wallSeconds.toFixed(1)} s, RSS ${row.rssMiB} MiB`);
    }
  }
  console.log(
    `\n${commandLine}\n\nfanout ${BENCH_JOIN_TUNING.fanout}, other Fetch settings default${maxPeers !== undefined ? `, maxPeers ${maxPeers}` : ''}${maxRecordsPerAnswer !== undefined ? `, maxRecordsPerAnswer ${maxRecordsPerAnswer}` : ''}${newsPushPerRound !== undefined ? `, newsPushPerRound ${newsPushPerRound}` : ''}; ${values.files} file(s) shared by every peer; each phase capped at ${maxRounds} rounds; delivery ${delivery}${timed ? ` (one-way delay lognormal, median ${latency.medianMs} ms, sigma ${latency.sigma}, ${latency.handshakeLegs} handshake legs)` : ''}; start ${start}; loss ${loss}${churn ? `; churn ${churn.rate} for ${churn.rounds} rounds` : ''}\n`,
  );
  console.log(fetchMarkdownTable(rows, maxRounds));
  if (rows.some((r) => r.partial || r.loss > 0 || r.churn)) console.log(`\n${fetchScaleTable(rows, maxRounds)}`);
  if (values.json) {
    writeFileSync(
      values.json,
      `${JSON.stringify({ command: commandLine, tuning, filesPerPeer: Number(values.files), maxRounds, delivery, ...(timed ? { latency } : {}), start, loss, churn, node: process.version, rows }, null, 2)}\n`,
    );
    console.log(`\nwrote ${values.json}`);
  }
}
