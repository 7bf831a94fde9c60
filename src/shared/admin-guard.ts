/**
 * Who may call routes that change state (share, unshare, enqueue...). A service bound to a
 * loopback address accepts them from loopback callers; a service bound anywhere else requires the
 * API token (Authorization: Bearer), created in the data directory when none is configured.
 * The Host header must name an address or localhost, so a web page cannot reach these routes
 * through DNS rebinding; JSON and octet-stream bodies need a CORS preflight we never grant.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { PeershareError } from './errors.ts';
import { isLoopback } from './net.ts';

const TOKEN_FILE = 'api-token';

/** The API token in force: the configured one, or (off loopback) one kept in the data directory. */
export function resolveApiToken(host: string, dataDir: string, configured: string | undefined): string | undefined {
  if (configured) return configured;
  if (isLoopback(host)) return undefined;
  const path = join(dataDir, TOKEN_FILE);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(24).toString('base64url');
  writeFileSync(path, token + '\n', { mode: 0o600 });
  return token;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function hostHeaderIsLocal(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || isIP(name) !== 0;
}

export type AdminGuard = (request: FastifyRequest) => Promise<void>;

/** A Fastify preHandler that lets only permitted callers through to a state-changing route. */
export function adminGuard(boundHost: string, token: string | undefined): AdminGuard {
  const loopbackOnly = isLoopback(boundHost);
  return async (request: FastifyRequest): Promise<void> => {
    if (token && tokenMatches(request.headers.authorization, token)) return;
    if (loopbackOnly && isLoopback(request.socket.remoteAddress) && hostHeaderIsLocal(request.headers.host)) return;
    if (token) throw new PeershareError('UNAUTHORIZED', 'this route needs the API token (Authorization: Bearer <token>)');
    throw new PeershareError('FORBIDDEN', 'this route is only served to callers on this machine');
  };
}
