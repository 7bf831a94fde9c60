/**
 * JSON schemas of the Fetch HTTP API (TypeBox): the first, cheap line of defence against
 * malformed or oversized input; the domain then checks what a schema cannot (signatures, ids
 * derived from keys, staleness, caps). Strict: unknown fields are refused.
 */
import { Type } from 'typebox';
import { FILE_ID_PATTERN, PEER_ID_PATTERN } from '../../../shared/ids.ts';
import { MAX_ADVERTISED_ADDRESSES } from '../../domain/addresses.ts';
import { MAX_HAVE, MAX_NEWS_IN_REQUEST } from '../../domain/messages.ts';

const PeerId = Type.String({ pattern: PEER_ID_PATTERN, description: 'base32(SHA-256(public key))' });
const Address = Type.String({ minLength: 3, maxLength: 270, description: 'host:port' });
const Cursor = Type.String({ pattern: '^[\\x21-\\x7e]{1,128}$' });
const PeerState = Type.Union([Type.Literal('alive'), Type.Literal('suspected'), Type.Literal('down')]);

export const AddressesSchema = Type.Object(
  { files: Address, search: Address, fetch: Address },
  { additionalProperties: false },
);
/** Every address set a record lists, in its order (a peer advertising several: --advertise repeated). */
const Advertised = Type.Array(AddressesSchema, {
  maxItems: MAX_ADVERTISED_ADDRESSES,
  description: "every address set the peer's record lists, in the order they are tried",
});

export const PeerRecordSchema = Type.Object(
  {
    peerId: PeerId,
    publicKey: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    signature: Type.String({ pattern: '^[0-9a-f]{128}$' }),
    status: Type.Union([Type.Literal('alive'), Type.Literal('left')]),
    addresses: AddressesSchema,
    otherAddresses: Type.Optional(
      Type.Array(AddressesSchema, {
        minItems: 1,
        maxItems: MAX_ADVERTISED_ADDRESSES - 1,
        description: 'further address sets of the peer, tried in this order after addresses',
      }),
    ),
    protocol: Type.Integer({ minimum: 1, maximum: 65_535 }),
    seq: Type.Integer({ minimum: 1 }),
    issuedAt: Type.Integer({ minimum: 0 }),
    filesVersion: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "the version of the peer's shared-file list: a holder of an older one asks the peer for its files",
      }),
    ),
  },
  { additionalProperties: false, description: 'a peer record signed by its peer (Ed25519)' },
);

export const SyncRequestSchema = Type.Object(
  {
    from: PeerRecordSchema,
    viewCursor: Type.Optional(Cursor),
    filesCursor: Type.Optional(Cursor),
    have: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z2-7]{16}:[0-9a-z]{1,11}$' }), {
        maxItems: MAX_HAVE,
        description: 'first contact: peer id prefix:seq (base 36) of records already held',
      }),
    ),
    haveHash: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{32}$',
        description: 'first contact, settled asker: a hash of the digest instead of the digest',
      }),
    ),
    ownFiles: Type.Optional(
      Type.Object(
        {
          base: Type.Optional(Cursor),
          delta: Type.Object({
            cursor: Cursor,
            reset: Type.Boolean(),
            added: Type.Array(
              Type.Object({
                id: Type.String({ pattern: FILE_ID_PATTERN }),
                name: Type.String(),
                size: Type.Integer({ minimum: 0 }),
              }),
            ),
            removed: Type.Array(Type.String({ pattern: FILE_ID_PATTERN })),
          }),
        },
        {
          additionalProperties: false,
          description:
            "a firewalled asker's own shared files since the cursor the answerer holds (nobody can dial it to ask)",
        },
      ),
    ),
    news: Type.Optional(
      Type.Array(PeerRecordSchema, {
        maxItems: MAX_NEWS_IN_REQUEST,
        description: "peers new to a full asker's table, newest first: the answerer may probe them to take them",
      }),
    ),
    pushOnly: Type.Optional(
      Type.Literal(true, { description: 'the request is for its news alone: the answer carries no records' }),
    ),
  },
  { additionalProperties: false },
);

const FileEntry = Type.Object({
  id: Type.String({ pattern: FILE_ID_PATTERN }),
  name: Type.String(),
  size: Type.Integer({ minimum: 0 }),
});

export const SyncResponseSchema = Type.Object({
  from: PeerId,
  view: Type.Object({
    cursor: Type.String(),
    records: Type.Array(PeerRecordSchema),
    suspects: Type.Array(Type.Array(Type.Union([Type.String(), Type.Integer()])), {
      description: '[peerId, seq, rounds suspected] of peers that became suspected or down since the cursor',
    }),
    firewalled: Type.Optional(
      Type.Array(PeerRecordSchema, {
        description:
          'records of peers that proved their key but cannot be dialled: reachable only by connect-back, never dialled',
      }),
    ),
  }),
  files: Type.Optional(
    Type.Object({
      cursor: Type.String(),
      reset: Type.Boolean(),
      added: Type.Array(FileEntry),
      removed: Type.Array(Type.String()),
    }),
  ),
  observed: Type.Optional(
    Type.String({
      description:
        'the IP address this request came from, as the answerer saw it (the asker checks it with a dial-back before advertising it)',
    }),
  ),
  askerFiles: Type.Optional(
    Type.String({
      description:
        "the cursor of the asker's own file list this peer holds ('' for none): the asker, if firewalled, may send ownFiles",
    }),
  ),
});

export const DialBackRequestSchema = Type.Object(
  { port: Type.Integer({ minimum: 1, maximum: 65535, description: "the asker's Fetch port" }) },
  { additionalProperties: false },
);

export const DialBackResponseSchema = Type.Object({
  observed: Type.String({ description: 'the IP address the request came from, and the one dialled' }),
  reachable: Type.Boolean({ description: 'whether a TLS connection to observed:port proved the asking peer id' }),
});

export const PeerListQuery = Type.Object(
  {
    state: Type.Optional(PeerState),
    offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
    limit: Type.Integer({ minimum: 1, maximum: 1_000, default: 1_000 }),
  },
  { additionalProperties: false },
);

export const PeerListSchema = Type.Object({
  self: Type.Object({ peerId: PeerId, addresses: AddressesSchema, advertised: Type.Optional(Advertised) }),
  total: Type.Integer(),
  items: Type.Array(
    Type.Object({
      peerId: PeerId,
      state: PeerState,
      lastSeen: Type.Integer({ description: 'ms since the epoch when this peer last heard of its life' }),
      addresses: AddressesSchema,
      advertised: Type.Optional(Advertised),
      files: Type.Integer({ description: 'files it shares' }),
    }),
  ),
  firewalled: Type.Optional(
    Type.Array(
      Type.Object({
        peerId: PeerId,
        addresses: AddressesSchema,
        advertised: Type.Optional(Advertised),
        issuedAt: Type.Integer({ description: 'ms since the epoch when its peer signed the record held' }),
        files: Type.Integer({ description: 'files it shares, as it told this peer' }),
      }),
      {
        description:
          'peers that proved their key but cannot be dialled (behind NAT): never dialled, reachable only by connect-back',
      },
    ),
  ),
});

export const LogQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 1_000, default: 100 }) },
  { additionalProperties: false },
);

export const LogSchema = Type.Object({
  events: Type.Array(
    Type.Object({
      n: Type.Integer({ description: 'running number, kept across restarts' }),
      at: Type.Integer({ description: 'ms since the epoch' }),
      kind: Type.Union([
        Type.Literal('joined'),
        Type.Literal('suspected'),
        Type.Literal('down'),
        Type.Literal('back'),
        Type.Literal('left'),
        Type.Literal('evicted'),
      ]),
      peerId: PeerId,
    }),
  ),
});

export const SourcesParams = Type.Object({ fileId: Type.String({ pattern: FILE_ID_PATTERN }) });

export const SourcesSchema = Type.Object({
  fileId: Type.String(),
  sources: Type.Array(
    Type.Object({ peerId: PeerId, filesAddress: Address, name: Type.String(), size: Type.Integer(), state: PeerState }),
  ),
  firewalled: Type.Optional(
    Type.Array(
      Type.Object({
        peerId: PeerId,
        filesAddress: Address,
        name: Type.String(),
        size: Type.Integer(),
        firewalled: Type.Literal(true),
      }),
      {
        description: 'holders that cannot be dialled (behind NAT): reachable only by connect-back',
      },
    ),
  ),
});

export const JoinPinsSchema = Type.Object({
  pins: Type.Array(
    Type.Object({
      address: Address,
      peerId: PeerId,
      pinnedAt: Type.Integer({ description: 'ms since the epoch' }),
      refused: Type.Optional(
        Type.Object(
          { peerId: PeerId, at: Type.Integer() },
          { description: 'another id this address proved since, refused' },
        ),
      ),
    }),
  ),
});
