/**
 * The Fetch HTTP API (driving adapter), behind a peer port (shared/peer-port.ts). Peer-facing,
 * over TLS only: POST /sync (an announce and a request for what changed; answered with this
 * peer's view and shared-file delta, and the address the request came from), POST /leave (a
 * signed tombstone) and POST /dial-back (is the asker reachable where we see it?); the record announced
 * or left must be the one of the peer the TLS connection proved, so nobody announces or leaves
 * for another id (an answer's gossip may carry others' records; an announce may not). For this
 * host only (plaintext), the product's "log of available peers": GET /peers, GET
 * /membership-log, GET /sources/:fileId; and the join pins: GET /join-pins, DELETE
 * /join-pins/:key (accept a join address's new key). Writes carry their own signatures, so
 * nothing here needs the admin guard; a web page of another site is refused.
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { PeershareError } from '../../../shared/errors.ts';
import { plainAddress } from '../../../shared/net.ts';
import type { AdminGuard } from '../../../shared/admin-guard.ts';
import type { HttpApp } from '../../../shared/http-server.ts';
import { callingPeer, peerAccess } from '../../../shared/peer-port.ts';
import { stateChange } from '../../../shared/site-guard.ts';
import type { MembershipEvent } from '../../domain/membership-log.ts';
import type { SyncResponse } from '../../domain/messages.ts';
import type { FileSource, PeerSummary } from '../../domain/sync-rounds.ts';
import type { ServiceAddresses } from '../../domain/addresses.ts';
import type { JoinPin } from '../../ports.ts';
import {
  DialBackRequestSchema,
  DialBackResponseSchema,
  JoinPinsSchema,
  LogQuery,
  LogSchema,
  PeerListQuery,
  PeerListSchema,
  PeerRecordSchema,
  SourcesParams,
  SourcesSchema,
  SyncRequestSchema,
  SyncResponseSchema,
} from './schemas.ts';

/** A join pin as listed: with the last different id the address proved, if any (refused). */
export interface JoinPinView extends JoinPin {
  refused?: { peerId: string; at: number };
}

/** A peer held as firewalled, as listed. */
export interface FirewalledPeer {
  peerId: string;
  addresses: ServiceAddresses;
  /** Every address set its record lists, in order. */
  advertised: ServiceAddresses[];
  issuedAt: number;
  files: number;
}

/** What the routes ask of the service. */
export interface FetchApi {
  /**
   * Answer a sync request (validated again by the domain) that came over a TLS connection from
   * the IP address `remote` (admission's rate limits count by it); throws BAD_REQUEST / PAYLOAD_TOO_LARGE.
   */
  answer(body: unknown, remote: string): Promise<SyncResponse>;
  /** Take a leave tombstone; throws BAD_REQUEST. */
  leave(body: unknown): void;
  self(): { peerId: string; addresses: ServiceAddresses; advertised: ServiceAddresses[] };
  peers(): PeerSummary[];
  events(limit: number): MembershipEvent[];
  sources(fileId: string): FileSource[];
  /** Peers held as firewalled (never dialled; reachable only by connect-back). */
  firewalled(): FirewalledPeer[];
  /** Firewalled peers that list a file, marked. */
  firewalledSources(fileId: string): Array<FileSource & { firewalled: true }>;
  joinPins(): JoinPinView[];
  /** Drop the pins of a peer id or a join address; returns those dropped. */
  forgetJoinPins(key: string): JoinPin[];
  /**
   * Dial the peer `peerId` (proven on the asking connection) back at `host` (that connection's
   * source address) and `port`: whether a TLS connection there proves the same id. Throws
   * RATE_LIMITED past the dial-back limits.
   */
  dialBack(peerId: string, host: string, port: number): Promise<{ observed: string; reachable: boolean }>;
}

/**
 * Throws FORBIDDEN unless `claimed` is the id the TLS connection of `request` proved: a peer
 * announces and leaves for itself only.
 */
function ownRecordOnly(request: FastifyRequest, claimed: string, what: string): void {
  const proven = callingPeer(request);
  if (proven === undefined) throw new PeershareError('FORBIDDEN', `${what} is for other peers, over TLS`);
  if (claimed !== proven) {
    throw new PeershareError(
      'FORBIDDEN',
      `${what} carries the record of peer ${claimed}, but this TLS connection proved peer ${proven}: a peer speaks only for itself`,
      {
        field: 'peerId',
        claimed,
        proven,
      },
    );
  }
}

const ErrorRef = Type.Ref('Error');

/** `admin` guards the one route that changes this peer's local state for its user (shared/admin-guard.ts). */
export function registerFetchRoutes(app: HttpApp, api: FetchApi, admin: AdminGuard): void {
  // Peers reach only the routes marked for them; this host's callers only the others.
  app.addHook('onRequest', peerAccess);

  app.post(
    '/sync',
    {
      config: { access: 'peers' },
      onRequest: stateChange,
      schema: {
        summary:
          'Announce the caller and get what changed since its cursors: peer records, suspicion rumours, shared files',
        body: SyncRequestSchema,
        response: { 200: SyncResponseSchema, 400: ErrorRef, 403: ErrorRef, 413: ErrorRef },
      },
    },
    async (request) => {
      ownRecordOnly(request, request.body.from.peerId, 'this announce');
      return api.answer(request.body, request.raw.socket.remoteAddress ?? '');
    },
  );

  app.post(
    '/dial-back',
    {
      config: { access: 'peers' },
      onRequest: stateChange,
      schema: {
        summary:
          "Dial the asking peer back at this request's source address and the port it names, over TLS pinned to its id: can other hosts reach it there?",
        body: DialBackRequestSchema,
        response: { 200: DialBackResponseSchema, 400: ErrorRef, 403: ErrorRef, 429: ErrorRef },
      },
    },
    async (request) => {
      const proven = callingPeer(request);
      if (proven === undefined) throw new PeershareError('FORBIDDEN', 'a dial-back is for other peers, over TLS');
      return api.dialBack(proven, plainAddress(request.raw.socket.remoteAddress ?? ''), request.body.port);
    },
  );

  app.post(
    '/leave',
    {
      config: { access: 'peers' },
      onRequest: stateChange,
      schema: {
        summary: 'A peer leaving cleanly hands over its signed "left" record; it is removed at once',
        body: PeerRecordSchema,
        response: { 200: Type.Object({ accepted: Type.Boolean() }), 400: ErrorRef, 403: ErrorRef, 413: ErrorRef },
      },
    },
    async (request) => {
      ownRecordOnly(request, request.body.peerId, 'this leave');
      api.leave(request.body);
      return { accepted: true };
    },
  );

  app.get(
    '/peers',
    {
      schema: {
        summary: 'Known peers with state, last seen, addresses and number of files',
        querystring: PeerListQuery,
        response: { 200: PeerListSchema },
      },
    },
    async (request) => {
      const { state, offset, limit } = request.query;
      const all = api.peers().filter((p) => state === undefined || p.state === state);
      all.sort((a, b) => b.lastHeardAt - a.lastHeardAt || (a.peerId < b.peerId ? -1 : 1));
      const items = all.slice(offset, offset + limit).map((p) => ({
        peerId: p.peerId,
        state: p.state,
        lastSeen: p.lastHeardAt,
        addresses: p.addresses,
        advertised: p.advertised,
        files: p.files,
      }));
      return { self: api.self(), total: all.length, items, firewalled: api.firewalled() };
    },
  );

  app.get(
    '/membership-log',
    {
      schema: {
        summary: 'The newest membership events (joined, suspected, down, back, left, evicted), oldest first',
        querystring: LogQuery,
        response: { 200: LogSchema },
      },
    },
    async (request) => ({ events: api.events(request.query.limit) }),
  );

  app.get(
    '/sources/:fileId',
    {
      schema: {
        summary:
          'Peers that list a file, alive ones first, with their File Management address; firewalled holders apart, marked (never dialled: connect-back only)',
        params: SourcesParams,
        response: { 200: SourcesSchema },
      },
    },
    async (request) => ({
      fileId: request.params.fileId,
      sources: api.sources(request.params.fileId),
      firewalled: api.firewalledSources(request.params.fileId),
    }),
  );

  app.get(
    '/join-pins',
    {
      schema: {
        summary:
          'Join addresses and the peer id each proved on first contact (trust on first use), with the last other id refused there',
        response: { 200: JoinPinsSchema },
      },
    },
    async () => ({ pins: api.joinPins() }),
  );

  app.delete(
    '/join-pins/:key',
    {
      onRequest: admin,
      schema: {
        summary:
          'Forget the pins of a peer id or a join address, so that the next contact pins whatever id the address proves (accepting a new key)',
        params: Type.Object({ key: Type.String({ minLength: 1, maxLength: 270 }) }),
        response: { 200: JoinPinsSchema },
      },
    },
    async (request) => ({ pins: api.forgetJoinPins(request.params.key) }),
  );
}
