/**
 * What a web page may ask of this peer. Any page the user opens can send requests to the peer's
 * ports, so the browser's own headers decide:
 * - Every request must name this peer in its Host header: an IP address, localhost, or a name in
 *   the `allowedHosts` setting. After DNS rebinding a page reaches the APIs under its own name
 *   (Host: evil.example), and would otherwise read them as same-origin.
 * - A request that changes state (or starts a search) is refused when its Origin or
 *   Sec-Fetch-Site says that another site sent it (another port of the same address included),
 *   and it must carry a JSON or octet-stream body, or the X-Peershare-Client header: a page on
 *   another site can send neither without a CORS preflight, which no service ever grants. The
 *   command, the services themselves and other peers send no browser headers and pass.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { PeershareError } from './errors.ts';

/** What these checks read of a request: its headers (a Fastify request, or a raw one such as an upgrade). */
export interface RequestHeads {
  readonly headers: IncomingHttpHeaders;
}

/** Marks a request as sent by a peershare client (the command, the web UI, another service). */
export const CLIENT_HEADER = 'x-peershare-client';

/** Body types that a page on another site cannot send without a CORS preflight. */
const DELIBERATE_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/octet-stream']);

/** Sec-Fetch-Site values of a request the user made on this peer's own page, or by hand. */
const OWN_SITE: ReadonlySet<string> = new Set(['same-origin', 'none']);

/** The host name of a Host header value, lowercased and without port or IPv6 brackets. */
function hostName(host: string): string {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  return name.toLowerCase();
}

/** Whether a Host header names this peer: an IP literal, localhost, or one of `allowedHosts`. */
export function hostAllowed(host: string | undefined, allowedHosts: ReadonlySet<string>): boolean {
  if (!host) return false;
  const name = hostName(host);
  return isIP(name) !== 0 || name === 'localhost' || allowedHosts.has(name);
}

/** An onRequest hook for every route: refuse a Host this peer does not answer to. */
export function hostGuard(allowedHosts: readonly string[]): (request: FastifyRequest) => Promise<void> {
  const allowed = new Set(allowedHosts.map((h) => h.toLowerCase()));
  return async (request) => {
    if (hostAllowed(request.headers.host, allowed)) return;
    throw new PeershareError(
      'FORBIDDEN',
      `this peer does not answer to the host name ${JSON.stringify(request.headers.host ?? '')}; use its IP address or localhost, or add the name to allowedHosts`,
    );
  };
}

/** Whether the browser says another site (or another origin of this site) sent the request. */
export function fromAnotherSite(request: RequestHeads): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && !OWN_SITE.has(String(site))) return true;
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== (request.headers.host ?? '').toLowerCase();
  } catch {
    return true; // "null" (a sandboxed frame, a file: page) or garbage
  }
}

/** Throws FORBIDDEN for a request another site sent. */
export function refuseOtherSites(request: RequestHeads): void {
  if (fromAnotherSite(request))
    throw new PeershareError('FORBIDDEN', 'this route is not served to pages of other sites');
}

/** Throws UNSUPPORTED_MEDIA_TYPE unless the request is one a page on another site cannot forge. */
export function requireDeliberate(request: RequestHeads): void {
  if (request.headers[CLIENT_HEADER] !== undefined) return;
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== undefined && DELIBERATE_TYPES.has(type)) return;
  throw new PeershareError(
    'UNSUPPORTED_MEDIA_TYPE',
    `a request that changes state needs a Content-Type: application/json body or the ${CLIENT_HEADER} header`,
  );
}

/** An onRequest hook (before the body is read) for routes that start work but change nothing stored (a search): own site only. */
export const ownSiteOnly = async (request: FastifyRequest): Promise<void> => refuseOtherSites(request);

/** An onRequest hook (before the body is read) for routes that change state: own site only, and a request no page can forge. */
export const stateChange = async (request: FastifyRequest): Promise<void> => {
  refuseOtherSites(request);
  requireDeliberate(request);
};
