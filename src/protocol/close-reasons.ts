/**
 * Why a link closed. Each local reason maps to one error code of src/shared/errors.ts, whose wire
 * number travels in the Close message; the text beside it says exactly what was wrong.
 */
import type { ErrorCode } from '../shared/errors.ts';

export type CloseReason =
  /** A length prefix above the frame cap (nothing was allocated for it). */
  | 'frame-too-large'
  /** The stream ended in the middle of a frame. */
  | 'truncated-frame'
  /** A frame body that is not a valid Frame message. */
  | 'malformed-frame'
  /** A Frame whose message type this version does not know. */
  | 'unknown-type'
  /** A known message that breaks a field rule or limit. */
  | 'invalid-message'
  /** A Hello with a protocol version other than ours. */
  | 'version-mismatch'
  /** A Hello whose peer id (or key) is not the peer id the TLS handshake proved. */
  | 'peer-mismatch'
  /** A RouteTable whose data does not decode to its table (or a patch with no table before it). */
  | 'invalid-route-table'
  /** A message out of order: anything before Hello, or a second Hello. */
  | 'unexpected-message'
  /** No Hello from the peer within the handshake timeout. */
  | 'handshake-timeout'
  /** No frame from the peer within the idle timeout. */
  | 'idle-timeout'
  /** A frame begun but not completed within the frame deadline (a trickle). */
  | 'frame-timeout'
  /** The peer does not read: our queued bytes passed the cap. */
  | 'too-slow'
  /** The owner of the session asked for it to close (shutdown, rate limit, link replaced...). */
  | 'closed-locally'
  /** The peer sent Close. */
  | 'closed-by-peer'
  /** The stream ended or was destroyed without a Close. */
  | 'stream-ended'
  /** The stream reported an error (for a socket: reset, timeout...). */
  | 'stream-error';

/** The error code sent on the wire (and reported locally) for each reason. */
export const CLOSE_CODES: Record<Exclude<CloseReason, 'closed-locally' | 'closed-by-peer'>, ErrorCode> = {
  'frame-too-large': 'PAYLOAD_TOO_LARGE',
  'truncated-frame': 'BAD_REQUEST',
  'malformed-frame': 'BAD_REQUEST',
  'unknown-type': 'BAD_REQUEST',
  'invalid-message': 'BAD_REQUEST',
  'version-mismatch': 'BAD_REQUEST',
  'invalid-route-table': 'BAD_REQUEST',
  'peer-mismatch': 'PEER_ID_MISMATCH',
  'unexpected-message': 'BAD_REQUEST',
  'handshake-timeout': 'UNAVAILABLE',
  'idle-timeout': 'UNAVAILABLE',
  'frame-timeout': 'UNAVAILABLE',
  'too-slow': 'UNAVAILABLE',
  'stream-ended': 'UNAVAILABLE',
  'stream-error': 'UNAVAILABLE',
};

/** How a session ended, reported once in its 'close' event. */
export interface CloseInfo {
  readonly reason: CloseReason;
  /** For 'closed-by-peer', the code the peer sent (unknown numbers read as INTERNAL). */
  readonly code: ErrorCode;
  /** Human-readable detail; for 'closed-by-peer', the peer's own text. */
  readonly message: string;
}
