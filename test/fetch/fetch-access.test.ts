/**
 * Fetch's one route that changes local state for the user (DELETE /join-pins/:key: accept a join
 * address's new key) follows the admin rule: loopback callers of a loopback-bound service, else
 * the API token. Bound beyond loopback, a caller without the token is refused.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPeerContext, startPeer } from '../../src/peer/wiring.ts';
import { loadConfig } from '../../src/shared/config.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { CLIENT_HEADER } from '../../src/shared/site-guard.ts';
import { freePort } from '../support/loopback.ts';
import { tempDir } from '../support/temp.ts';

describe('Fetch local routes beyond loopback', () => {
  it('DELETE /join-pins needs the API token when Fetch listens on every interface; reads stay open', async () => {
    const dataDir = join(tempDir(), 'data');
    // Bound to every interface on a free port (its record names that port, so not 0); the test only talks to it over loopback.
    const config = loadConfig({ flags: { host: '0.0.0.0', fetchPort: await freePort(), dataDir } });
    const peer = await startPeer(createPeerContext(config, silentLogger()), ['fetch']);
    onTestFinished(() => peer.stop());
    const url = peer.services.fetch!.url.replace('0.0.0.0', '127.0.0.1');
    const token = readFileSync(join(dataDir, 'api-token'), 'utf8').trim();

    const anonymous = await fetch(`${url}/join-pins/198.51.100.7`, {
      method: 'DELETE',
      headers: { [CLIENT_HEADER]: 'test' },
    });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    const withToken = await fetch(`${url}/join-pins/198.51.100.7`, {
      method: 'DELETE',
      headers: { [CLIENT_HEADER]: 'test', authorization: `Bearer ${token}` },
    });
    expect(withToken.status).toBe(200);
    expect(((await withToken.json()) as { pins: unknown[] }).pins).toEqual([]);

    expect((await fetch(`${url}/join-pins`)).status).toBe(200);
    expect((await fetch(`${url}/peers`)).status).toBe(200);
  });
});
