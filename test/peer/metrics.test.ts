/**
 * GET /metrics on every service of whole peers: the Prometheus text format, series read from the
 * counters /health and `peershare status` show (a share, a sync round, a download and a search
 * move them), and never served to another peer over TLS.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { upload } from '../support/files-peer.ts';
import { startFullPeer, type FullPeer } from '../support/full-peer.ts';
import { tlsPeerClient } from '../support/tls-peer-client.ts';

const json = async <T>(r: Response | Promise<Response>): Promise<T> => (await (await r).json()) as T;
const SERVICES = ['files', 'fetch', 'search', 'download', 'client'] as const;

/** The text of GET /metrics of one service, after checking status and content type. */
async function metrics(peer: FullPeer, service: (typeof SERVICES)[number]): Promise<string> {
  const res = await fetch(`${peer[service]}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return res.text();
}

/** The value of one series (`name` or `name{label="value",...}`), or undefined when absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  it("serves each service's counters to this host, moved by a share, a sync round, a download (bytes in and out) and a search; a TLS peer is refused", async () => {
    const a = await startFullPeer();
    const b = await startFullPeer({ join: a.host });

    // Every service answers, in the text format, with its info series.
    for (const service of SERVICES) {
      const text = await metrics(a, service);
      expect(value(text, `peershare_${service}_info{peer_id="${a.context.identity.peerId}"}`)).toBe(1);
      expect(value(text, `peershare_${service}_uptime_seconds`)).toBeGreaterThanOrEqual(0);
    }

    // A share: File Management counts it.
    expect(value(await metrics(a, 'files'), 'peershare_files_shared_files')).toBe(0);
    const data = randomBytes(300 * 1024 + 7);
    const { id } = await json<{ id: string }>(upload(a.files, 'lecture.mkv', data));
    expect(value(await metrics(a, 'files'), 'peershare_files_shared_files')).toBe(1);

    // A sync round of B (joined through A): B's Fetch counts A, alive, and the round.
    const round = await b.services.fetch!.runRound();
    const fetchText = await metrics(b, 'fetch');
    expect(value(fetchText, 'peershare_fetch_peers{state="alive"}')).toBe(1);
    expect(value(fetchText, 'peershare_fetch_peers{state="down"}')).toBe(0);
    expect(value(fetchText, 'peershare_fetch_membership_events_total{kind="joined"}')).toBe(1); // A, in B's log
    expect(value(fetchText, 'peershare_fetch_membership_events_total{kind="down"}')).toBe(0);
    expect(value(fetchText, 'peershare_fetch_rounds_total')).toBeGreaterThanOrEqual(round.round);
    expect(value(fetchText, 'peershare_fetch_state{state="joined"}')).toBe(1);
    expect(value(fetchText, 'peershare_fetch_reachability{state="configured"}')).toBe(1);
    expect(value(fetchText, 'peershare_fetch_admission_total{event="refused_new"}')).toBe(0);

    // A download by B from A: its outcome, and every byte counted against its source.
    const source = `${a.context.identity.peerId}@${a.host}:${DEFAULT_PORTS.filesPort}`;
    const queued = await json<{ key: string }>(
      fetch(`${b.download}/downloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fileId: id, name: 'lecture.mkv', sources: [source] }),
      }),
    );
    await expect
      .poll(
        async () =>
          (await json<Array<{ key: string; state: string }>>(fetch(`${b.download}/downloads`))).find(
            (d) => d.key === queued.key,
          )?.state,
        { timeout: 20_000 },
      )
      .toBe('done');
    const downloadText = await metrics(b, 'download');
    expect(value(downloadText, 'peershare_download_jobs_total{outcome="done"}')).toBe(1);
    expect(value(downloadText, 'peershare_download_jobs_total{outcome="failed"}')).toBe(0);
    expect(value(downloadText, `peershare_download_bytes_in_total{source="${source}"}`)).toBe(data.length);
    expect(value(downloadText, 'peershare_download_queue_depth')).toBe(0);
    expect(value(downloadText, 'peershare_download_chunks_total{result="verified"}')).toBe(
      Math.ceil(data.length / 2 ** 20),
    ); // 1 MiB chunks
    expect(value(downloadText, 'peershare_download_chunks_total{result="failed"}')).toBe(0);
    expect(value(await metrics(b, 'files'), 'peershare_files_shared_files')).toBe(1); // B is a source now
    expect(
      value(await metrics(a, 'files'), `peershare_files_bytes_out_total{peer="${b.context.identity.peerId}"}`),
    ).toBe(data.length);

    // A search by B: Search counts it, with the drops by reason and the links.
    await json(fetch(`${b.search}/search?q=lecture&wait=1&timeout=300`));
    const searchText = await metrics(b, 'search');
    expect(value(searchText, 'peershare_search_searches_started_total')).toBe(1);
    expect(value(searchText, 'peershare_search_queries_dropped_total{reason="duplicate"}')).toBeGreaterThanOrEqual(0);
    expect(value(searchText, 'peershare_search_links')).toBeGreaterThanOrEqual(0);

    // The same counts as /health shows.
    const health = await json<{ counters: { jobs: { done: number } } }>(fetch(`${b.download}/health`));
    expect(health.counters.jobs.done).toBe(1);

    // Another peer, over TLS, gets nothing: /metrics tells who downloads what.
    const peer = await tlsPeerClient();
    for (const port of [DEFAULT_PORTS.filesPort, DEFAULT_PORTS.fetchPort, DEFAULT_PORTS.searchApiPort]) {
      const answer = await peer.raw(`${a.host}:${port}`, 'GET', '/metrics');
      expect(answer.status).toBe(403);
      expect(answer.body.error?.code).toBe('FORBIDDEN');
    }
  });
});
