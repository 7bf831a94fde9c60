/**
 * Who may call routes that change state (share, unshare, enqueue...). A service bound to a
 * loopback address accepts them from loopback callers; a service bound anywhere else requires the
 * API token (Authorization: Bearer), created in the data directory when none is configured.
 * Web pages are kept out by site-guard.ts: every request's Host is checked app-wide (DNS
 * rebinding), and these routes refuse other sites and requests a page could forge.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { PeershareError } from './errors.ts';
import { isLoopback } from './net.ts';
import { refuseOtherSites, requireDeliberate, type RequestHeads } from './site-guard.ts';

/** What the admin check reads of a caller: its headers and address (a Fastify request, or a raw one such as an upgrade). */
export interface Caller extends RequestHeads {
  readonly socket: { readonly remoteAddress?: string | undefined };
}

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
  // The services of one peer may start at once as separate processes: written whole to a file of
  // our own and linked into place, which fails if another process was first (its token is then the one).
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, randomBytes(24).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  return readFileSync(path, 'utf8').trim();
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export type AdminGuard = (request: FastifyRequest) => Promise<void>;

/** Whether the caller may administer this service: it has the token, or the service is loopback-only and so is the caller. */
export function isAdminCaller(boundHost: string, token: string | undefined): (request: Caller) => boolean {
  const loopbackOnly = isLoopback(boundHost);
  return (request) =>
    (token !== undefined && tokenMatches(request.headers.authorization, token)) ||
    (loopbackOnly && isLoopback(request.socket.remoteAddress));
}

/** The admin check that throws: other sites refused, then the token or a loopback caller, then a request no page can forge. */
export function adminCheck(boundHost: string, token: string | undefined): (request: Caller) => void {
  const isAdmin = isAdminCaller(boundHost, token);
  return (request) => {
    refuseOtherSites(request);
    if (!isAdmin(request)) {
      if (token)
        throw new PeershareError('UNAUTHORIZED', 'this route needs the API token (Authorization: Bearer <token>)');
      throw new PeershareError('FORBIDDEN', 'this route is only served to callers on this machine');
    }
    requireDeliberate(request);
  };
}

/** A Fastify onRequest hook (before the body is read) that lets only permitted callers through to a state-changing route. */
export function adminGuard(boundHost: string, token: string | undefined): AdminGuard {
  const check = adminCheck(boundHost, token);
  return async (request: FastifyRequest): Promise<void> => check(request);
}
