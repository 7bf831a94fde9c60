/**
 * The one error vocabulary of peershare. Every error a service returns carries a stable `code`
 * from this table; `httpStatus()` is the only mapping to HTTP and `wireCode()` the only mapping to
 * the peer protocol. docs/ERRORS.md lists the same table (a test keeps the two in sync).
 */

interface ErrorSpec {
  /** HTTP status used when this error crosses an HTTP API. */
  readonly status: number;
  /** Stable number used when this error crosses the peer wire protocol. */
  readonly wire: number;
  /** What the code means, for docs/ERRORS.md. */
  readonly meaning: string;
}

export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, wire: 1, meaning: 'The request is malformed or fails its schema.' },
  INVALID_NAME: {
    status: 400,
    wire: 2,
    meaning:
      'A file name is empty, too long, reserved, or contains a path separator, dot segment, NUL, control, or invisible or direction-changing character.',
  },
  INVALID_PATH: {
    status: 400,
    wire: 3,
    meaning: 'A local path is not absolute, does not exist, or is not a regular file or folder.',
  },
  INVALID_RANGE: { status: 416, wire: 4, meaning: 'A byte range lies outside the file (RFC 9110 §15.5.17).' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    wire: 5,
    meaning: 'The request body has a content type this route does not accept.',
  },
  UNAUTHORIZED: { status: 401, wire: 6, meaning: 'A route that changes state was called without the valid API token.' },
  FORBIDDEN: { status: 403, wire: 7, meaning: 'The caller may not use this route from where it is calling.' },
  PATH_OUTSIDE_SHARE: {
    status: 403,
    wire: 8,
    meaning: 'A path (for example through a symlink) resolves outside the folder being shared.',
  },
  NOT_FOUND: { status: 404, wire: 9, meaning: 'The route does not exist.' },
  FILE_NOT_FOUND: { status: 404, wire: 10, meaning: 'No shared file has this id.' },
  FILE_CHANGED: {
    status: 409,
    wire: 11,
    meaning: 'A file shared in place changed on disk since it was hashed; it is no longer served until shared again.',
  },
  PAYLOAD_TOO_LARGE: { status: 413, wire: 12, meaning: 'A body, upload or message is larger than its configured cap.' },
  UPLOAD_ABORTED: {
    status: 400,
    wire: 13,
    meaning: 'The client went away before the upload was complete; nothing was stored.',
  },
  DISK_FULL: {
    status: 507,
    wire: 14,
    meaning:
      'The disk is full (ENOSPC, SQLITE_FULL), or a download would eat into the reserve kept free; see "A full disk".',
  },
  UNAVAILABLE: {
    status: 503,
    wire: 15,
    meaning: 'The service is starting, stopping or cannot reach something it needs.',
  },
  CONFIG_INVALID: {
    status: 500,
    wire: 16,
    meaning: 'A configuration setting has an invalid value (reported at start-up).',
  },
  INTERNAL: { status: 500, wire: 17, meaning: 'An unexpected failure; the log has the details.' },
  BAD_SOURCE: {
    status: 502,
    wire: 18,
    meaning:
      'A source peer sent other bytes than asked (more, fewer, or not matching the chunk hash); it is banned for that file.',
  },
  PEER_UNVERIFIED: {
    status: 502,
    wire: 19,
    meaning:
      'The other end of a peer connection proved no peer id: not TLS 1.3, no certificate, or one that is not Ed25519, self-signed and current.',
  },
  PEER_ID_MISMATCH: {
    status: 502,
    wire: 20,
    meaning:
      'A peer proved another id than the one expected: the id in the record it was dialled from, or the id pinned for its address on first use.',
  },
  RATE_LIMITED: {
    status: 429,
    wire: 21,
    meaning:
      "Too many requests in too short a time (a peer's own searches are held below what its neighbours accept); Retry-After says when to try again.",
  },
  ALREADY_SHARED: {
    status: 409,
    wire: 22,
    meaning:
      'This peer already holds the file asked for (it shares it): nothing was downloaded; ask for another folder to get a copy there.',
  },
  COLLECTION_NOT_FOUND: { status: 404, wire: 23, meaning: 'No shared folder (collection) has this id.' },
  INVALID_COLLECTION: {
    status: 400,
    wire: 24,
    meaning:
      'A collection breaks a rule of its format (docs/PROTOCOL.md §11): a bad path, duplicate or unsorted entries, a file where a folder is, or a limit passed.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An expected failure with a stable code. Unexpected failures stay plain Errors and map to INTERNAL. */
export class PeershareError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PeershareError';
    this.code = code;
    this.details = details;
  }
}

export function isPeershareError(err: unknown): err is PeershareError {
  return err instanceof PeershareError;
}

/** The HTTP status for an error code: the only code → HTTP mapping. */
export function httpStatus(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/** The peer-protocol number for an error code: the only code → wire mapping. */
export function wireCode(code: ErrorCode): number {
  return ERROR_CODES[code].wire;
}

const BY_WIRE = new Map<number, ErrorCode>(
  Object.entries(ERROR_CODES).map(([code, spec]) => [spec.wire, code as ErrorCode]),
);

/** The error code for a number received on the wire; unknown numbers become INTERNAL. */
export function fromWireCode(wire: number): ErrorCode {
  return BY_WIRE.get(wire) ?? 'INTERNAL';
}

/** The JSON body every HTTP API returns for an error. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export function toErrorBody(err: PeershareError): ErrorBody {
  return {
    error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
  };
}
