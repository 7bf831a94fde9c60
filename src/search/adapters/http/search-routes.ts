/**
 * The Search local API (for the Client): start a search and stream its hits as Server-Sent Events
 * (`GET /search`), or get them all at the deadline (`GET /search?wait=1`, `POST /searches`); list
 * the overlay links (`GET /links`). Inputs are checked by TypeBox schemas; errors use the shared
 * vocabulary. A search floods the network, so pages of other sites may not start one, and this
 * peer's own searches are held below what its neighbours accept: past that, 429 RATE_LIMITED with
 * Retry-After.
 *
 * For this peer's Download in another process (split mode), `POST /push` asks a firewalled
 * holder to connect back (PUSH, docs/PROTOCOL.md §6a), signed here with the peer's identity key,
 * as the Download beside Search does in one process.
 *
 * The API is served on a peer port: other peers, over TLS, may read `GET /links` and
 * `GET /health` (the network picture their Client draws), nothing else; this host's callers
 * reach every route in plaintext.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { PeershareError } from '../../../shared/errors.ts';
import { callingPeer, peerAccess } from '../../../shared/peer-port.ts';
import type { HttpApp } from '../../../shared/http-server.ts';
import { ownSiteOnly, stateChange } from '../../../shared/site-guard.ts';
import { FILE_ID_PATTERN, PEER_ID_PATTERN } from '../../../shared/ids.ts';
import { MAX_ADDRESS_LENGTH } from '../../../protocol/limits.ts';
import { MAX_WANT } from '../../../shared/defaults.ts';
import type { ActiveSearch, SearchHit, SearchSummary } from '../../domain/active-search.ts';
import type { SearchRequest } from '../../domain/search-engine.ts';
import type { LinkInfo } from '../../ports.ts';

/** Longest deadline a caller may ask for. */
export const MAX_SEARCH_TIMEOUT_MS = 60_000;
export const MAX_RESULT_LIMIT = 10_000;

export interface SearchApi {
  search(request: SearchRequest): ActiveSearch;
  parseTerms(text: string): string[];
  links(): LinkInfo[];
  /**
   * Ask the firewalled `holder` to connect back to `filesAddress` for `fileId` (a route learnt
   * first if none is known); false when no Push was sent.
   */
  push(holder: string, fileId: string, filesAddress: string, signal: AbortSignal): Promise<boolean>;
  readonly maxTtl: number;
}

const ErrorRef = Type.Ref('Error');
const SearchParams = {
  q: Type.Optional(
    Type.String({ minLength: 1, maxLength: 1024, description: 'words; every one must prefix a word of a name' }),
  ),
  fileId: Type.Optional(
    Type.String({ pattern: FILE_ID_PATTERN, description: 'search an exact file id instead of words' }),
  ),
  timeout: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SEARCH_TIMEOUT_MS, description: 'deadline in ms' })),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_RESULT_LIMIT, description: 'end once this many hits arrived' }),
  ),
  ttl: Type.Optional(Type.Integer({ minimum: 1, maximum: 255, description: 'links the query may cross (clamped)' })),
  want: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_WANT,
      description: 'dynamic querying: search near first, widen only while fewer than this many other peers answered',
    }),
  ),
};
const SearchQuery = Type.Object({
  ...SearchParams,
  wait: Type.Optional(
    Type.Union(
      ['1', 'true', '0', 'false'].map((v) => Type.Literal(v)),
      { description: '1 or true: answer once, at the end, as JSON' },
    ),
  ),
});
const SearchBody = Type.Object(SearchParams, { additionalProperties: false });

const HitSchema = Type.Object({
  fileId: Type.String(),
  name: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  holderPeerId: Type.String(),
  filesAddress: Type.String({
    description:
      "host:port of the holder's File Management, as its hit said (a hint: a source is dialled at its verified record's address)",
  }),
  hops: Type.Integer({ minimum: 0 }),
  folder: Type.Optional(
    Type.Object(
      { files: Type.Integer({ minimum: 1 }) },
      { description: 'present when the hit is a shared folder: fileId is its collection id' },
    ),
  ),
});
const SummarySchema = Type.Object({
  queryKey: Type.String(),
  peersAnswered: Type.Integer(),
  hits: Type.Integer(),
  duplicatesDropped: Type.Integer(),
  elapsedMs: Type.Integer(),
  ended: Type.Union(
    [Type.Literal('deadline'), Type.Literal('limit'), Type.Literal('enough'), Type.Literal('cancelled')],
    { description: "why it ended: its deadline, its limit of hits, 'enough': want other peers answered, or cancelled" },
  ),
});
const PushBody = Type.Object(
  {
    holderPeerId: Type.String({ pattern: PEER_ID_PATTERN, description: 'the firewalled holder asked to connect back' }),
    fileId: Type.String({ pattern: FILE_ID_PATTERN }),
    filesAddress: Type.String({
      minLength: 3,
      maxLength: MAX_ADDRESS_LENGTH,
      description: "this peer's File Management address as its signed record lists it: where the holder connects",
    }),
  },
  { additionalProperties: false },
);
const ResultSchema = Type.Object({ hits: Type.Array(HitSchema), summary: SummarySchema });
const LinkSchema = Type.Object({
  id: Type.String(),
  peerId: Type.String(),
  searchAddress: Type.String(),
  direction: Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]),
  remoteIp: Type.String(),
  since: Type.Integer(),
});

function toRequest(api: SearchApi, p: Static<typeof SearchBody>): SearchRequest {
  if ((p.q === undefined) === (p.fileId === undefined))
    throw new PeershareError('BAD_REQUEST', 'give exactly one of q and fileId');
  const base = { timeoutMs: p.timeout, limit: p.limit, ttl: p.ttl, ...(p.want !== undefined ? { want: p.want } : {}) };
  if (p.fileId !== undefined) return { ...base, fileId: p.fileId };
  const terms = api.parseTerms(p.q!);
  if (terms.length === 0) throw new PeershareError('BAD_REQUEST', 'q has no searchable words');
  return { ...base, terms };
}

async function collect(search: ActiveSearch): Promise<{ hits: SearchHit[]; summary: SearchSummary }> {
  const summary = await search.done;
  return { hits: search.hits, summary: { ...summary, elapsedMs: Math.round(summary.elapsedMs) } };
}

/** Stream a search as SSE: an event per hit as it arrives, then `summary`, then the end. */
function stream(reply: FastifyReply, search: ActiveSearch): void {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  const send = (event: string, data: unknown) => raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  raw.write(`: search ${search.queryKey}\n\n`);
  for (const hit of search.hits) send('hit', hit);
  search.onHit((hit) => send('hit', hit));
  // A client that goes away ends its search: nobody is waiting for the hits.
  reply.request.raw.once('close', () => search.end('cancelled'));
  void search.done.then((summary) => {
    // done never rejects; a closed response is checked below
    if (raw.writableEnded || raw.destroyed) return;
    send('summary', { ...summary, elapsedMs: Math.round(summary.elapsedMs) });
    raw.end();
  });
}

/**
 * Who may call each route (the shared `peerAccess` rule, by each route's `config.access`), with
 * GET /health open to peers too: it is registered by createHttpApp, without a config of ours.
 */
export function searchAccess(request: FastifyRequest): Promise<void> {
  if (request.method === 'GET' && request.routeOptions.url === '/health' && callingPeer(request) !== undefined)
    return Promise.resolve();
  return peerAccess(request);
}

export function registerSearchRoutes(app: HttpApp, api: SearchApi): void {
  app.get(
    '/search',
    {
      onRequest: ownSiteOnly,
      schema: {
        summary:
          'Search the network; hits stream as Server-Sent Events (`hit`, then `summary`), or as JSON with wait=true',
        querystring: SearchQuery,
        response: { 200: ResultSchema, 400: ErrorRef, 429: ErrorRef },
      },
    },
    async (request, reply) => {
      const search = api.search(toRequest(api, request.query));
      if (request.query.wait === '1' || request.query.wait === 'true') return collect(search);
      stream(reply, search);
      return reply;
    },
  );

  app.post(
    '/searches',
    {
      onRequest: stateChange,
      schema: {
        summary: 'Search the network and answer with every hit at the deadline',
        body: SearchBody,
        response: { 200: ResultSchema, 400: ErrorRef, 429: ErrorRef },
      },
    },
    async (request) => collect(api.search(toRequest(api, request.body))),
  );

  app.post(
    '/push',
    {
      onRequest: stateChange,
      schema: {
        summary:
          "Ask a firewalled holder, over the overlay, to connect back to this peer's File Management (a signed Push; for this peer's Download in another process)",
        body: PushBody,
        response: { 200: Type.Object({ sent: Type.Literal(true) }), 400: ErrorRef, 403: ErrorRef, 503: ErrorRef },
      },
    },
    async (request, reply) => {
      const { holderPeerId, fileId, filesAddress } = request.body;
      const gone = new AbortController(); // the caller went away while a route was being learnt
      const onClose = () => gone.abort();
      reply.raw.once('close', onClose);
      try {
        if (!(await api.push(holderPeerId, fileId, filesAddress, gone.signal)))
          throw new PeershareError(
            'UNAVAILABLE',
            `firewalled peer ${holderPeerId}: no push could be sent (no route to it, or over the limit per minute)`,
          );
      } finally {
        reply.raw.off('close', onClose);
      }
      return { sent: true as const };
    },
  );

  app.get(
    '/links',
    {
      config: { access: 'peers-and-local' },
      schema: {
        summary: 'The current overlay links (other peers may ask, over TLS)',
        response: { 200: Type.Object({ links: Type.Array(LinkSchema) }) },
      },
    },
    async () => ({ links: api.links() }),
  );
}
