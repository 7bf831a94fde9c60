/**
 * The Fetch HTTP API (driving adapter). Peer-facing: POST /sync (an announce and a request for
 * what changed; answered with this peer's view and shared-file delta) and POST /leave (a signed
 * tombstone). Read-only, the product's "log of available peers": GET /peers, GET /membership-log,
 * GET /sources/:fileId. Nothing here needs the admin guard: writes carry their own signatures.
 * Peers send them as JSON without browser headers; a web page of another site is refused.
 */
import { Type } from 'typebox';
import type { HttpApp } from '../../../shared/http-server.ts';
import { stateChange } from '../../../shared/site-guard.ts';
import type { MembershipEvent } from '../../domain/membership-log.ts';
import type { SyncResponse } from '../../domain/messages.ts';
import type { FileSource, PeerSummary } from '../../domain/sync-rounds.ts';
import type { ServiceAddresses } from '../../domain/addresses.ts';
import { LogQuery, LogSchema, PeerListQuery, PeerListSchema, PeerRecordSchema, SourcesParams, SourcesSchema, SyncRequestSchema, SyncResponseSchema } from './schemas.ts';

/** What the routes ask of the service. */
export interface FetchApi {
  /** Answer a sync request (validated again by the domain); throws BAD_REQUEST / PAYLOAD_TOO_LARGE. */
  answer(body: unknown): Promise<SyncResponse>;
  /** Take a leave tombstone; throws BAD_REQUEST. */
  leave(body: unknown): void;
  self(): { peerId: string; addresses: ServiceAddresses };
  peers(): PeerSummary[];
  events(limit: number): MembershipEvent[];
  sources(fileId: string): FileSource[];
}

const ErrorRef = Type.Ref('Error');

export function registerFetchRoutes(app: HttpApp, api: FetchApi): void {
  app.post(
    '/sync',
    {
      onRequest: stateChange,
      schema: {
        summary: 'Announce the caller and get what changed since its cursors: peer records, suspicion rumours, shared files',
        body: SyncRequestSchema,
        response: { 200: SyncResponseSchema, 400: ErrorRef, 413: ErrorRef },
      },
    },
    async (request) => api.answer(request.body),
  );

  app.post(
    '/leave',
    {
      onRequest: stateChange,
      schema: {
        summary: 'A peer leaving cleanly hands over its signed "left" record; it is removed at once',
        body: PeerRecordSchema,
        response: { 200: Type.Object({ accepted: Type.Boolean() }), 400: ErrorRef, 413: ErrorRef },
      },
    },
    async (request) => {
      api.leave(request.body);
      return { accepted: true };
    },
  );

  app.get(
    '/peers',
    { schema: { summary: 'Known peers with state, last seen, addresses and number of files', querystring: PeerListQuery, response: { 200: PeerListSchema } } },
    async (request) => {
      const { state, offset, limit } = request.query;
      const all = api.peers().filter((p) => state === undefined || p.state === state);
      all.sort((a, b) => b.lastHeardAt - a.lastHeardAt || (a.peerId < b.peerId ? -1 : 1));
      const items = all.slice(offset, offset + limit).map((p) => ({ peerId: p.peerId, state: p.state, lastSeen: p.lastHeardAt, addresses: p.addresses, files: p.files }));
      return { self: api.self(), total: all.length, items };
    },
  );

  app.get(
    '/membership-log',
    { schema: { summary: 'The newest membership events (joined, suspected, down, back, left, evicted), oldest first', querystring: LogQuery, response: { 200: LogSchema } } },
    async (request) => ({ events: api.events(request.query.limit) }),
  );

  app.get(
    '/sources/:fileId',
    { schema: { summary: 'Peers that list a file, alive ones first, with their File Management address', params: SourcesParams, response: { 200: SourcesSchema } } },
    async (request) => ({ fileId: request.params.fileId, sources: api.sources(request.params.fileId) }),
  );
}
