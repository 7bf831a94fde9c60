/**
 * The limits of the peer wire protocol, next to its schema (proto/wire.proto). Both sides enforce
 * them: a frame or message past any of them closes the link. docs/PROTOCOL.md lists the same
 * numbers; changing one is a protocol change.
 */

import { SEARCH_DEFAULTS } from '../shared/defaults.ts';

/**
 * The protocol version this code speaks; a Hello with any other version closes the link. Version 2
 * runs inside TLS 1.3 pinned to peer ids and negotiates features; version 1 peers are refused.
 */
export const PROTOCOL_VERSION = 2;

/** Feature "push": the Push message (connect-back to a firewalled holder, docs/PROTOCOL.md). */
export const FEATURE_PUSH = 'push';
/**
 * Feature "folders": a Hit's Result may be a shared folder (`folder`, `files`). Results of that
 * kind cross only links that negotiated it: a holder or a relay strips them from a Hit it sends
 * over any other link, and a receiver ignores them on one (docs/PROTOCOL.md §7).
 */
export const FEATURE_FOLDERS = 'folders';
/**
 * Feature "qrp": RouteTable messages (query routing tables, protocol/route-table.ts, docs/PROTOCOL.md
 * §12). A link without it is flooded as before.
 */
export const FEATURE_QRP = 'qrp';
/** Route table levels one peer may send (level 0 … MAX_ROUTE_LEVELS - 1); a higher level closes the link. */
export const MAX_ROUTE_LEVELS = 4;
/**
 * Bytes a RouteTable's deflated data may exceed its table's bits / 8 by: deflate stores data it
 * cannot shrink in blocks of at most 64 KiB with 5 bytes of header each (zlib's deflateBound is
 * under 50 bytes over for the largest table), so anything longer is not a table.
 */
export const ROUTE_TABLE_DATA_SLACK = 1024;
/**
 * The optional features this code speaks, listed in our Hello; a link uses those both Hellos list
 * (PeerSession.features). What later versions add to the wire (PUSH, keyword tables, folders) is
 * a feature named here, sent only over links that negotiated it, so neighbouring releases keep
 * talking during a rolling upgrade.
 */
export const SUPPORTED_FEATURES: readonly string[] = [FEATURE_PUSH, FEATURE_FOLDERS, FEATURE_QRP];
/** Bytes of a Push nonce. */
export const PUSH_NONCE_BYTES = 16;
/** Feature names one Hello may list, and the length and form of each name. */
export const MAX_FEATURES = 32;
export const MAX_FEATURE_LENGTH = 32;
export const FEATURE_PATTERN = '^[a-z0-9][a-z0-9-]*$';

/** Bytes in the big-endian length prefix in front of every frame. */
export const LENGTH_PREFIX_BYTES = 4;
/** Largest frame body (the encoded Frame message, prefix excluded). Checked before allocating. */
export const MAX_FRAME_BYTES = 256 * 1024;

/** Search terms per query; the File Management service caps terms at the same number. */
export const MAX_TERMS = 16;
/** UTF-16 length of one search term. */
export const MAX_TERM_LENGTH = 64;
/** Results carried by one Hit; a holder with more sends several Hits. */
export const MAX_RESULTS_PER_HIT = 256;
/** UTF-8 bytes of a file name: the share rules' own cap (shared/names.ts), one definition. */
export { MAX_NAME_BYTES } from '../shared/names.ts';
/** Length of an address: "host:port" or an http(s) base URL. */
export const MAX_ADDRESS_LENGTH = 256;
/** Length of the free-text reason in a Close. */
export const MAX_REASON_LENGTH = 512;

/** Bytes of the random part of a query id. */
export const QUERY_NONCE_BYTES = 16;
/** Bytes of a raw Ed25519 public key. */
export const PUBLIC_KEY_BYTES = 32;
/** Bytes of the Hello nonce (a fresh random challenge for authenticated links). */
export const MIN_HELLO_NONCE_BYTES = 16;
export const MAX_HELLO_NONCE_BYTES = 32;
/** Bytes of the Hello signature: empty, or one Ed25519 signature. */
export const SIGNATURE_BYTES = 64;
/** Largest TTL or hop count accepted on the wire; the router clamps far below (default 7). */
export const MAX_WIRE_TTL = 255;

/** Session timeouts (milliseconds); each can be overridden per session. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 15_000;
/** No frame received for this long closes the link: a bit over two keepalive intervals. */
export const DEFAULT_IDLE_TIMEOUT_MS = 40_000;
/**
 * Once the first byte of a frame has arrived, the whole frame must arrive within this time: a peer
 * that trickles a frame a byte at a time cannot hold a link open past the idle timeout.
 */
export const DEFAULT_FRAME_TIMEOUT_MS = SEARCH_DEFAULTS.frameTimeoutMs;
/** After sending Close, how long to wait for the bytes to flush before destroying the stream. */
export const DEFAULT_CLOSE_GRACE_MS = 1_000;
/** Bytes queued for writing beyond which the peer is too slow and the link is closed. */
export const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;
