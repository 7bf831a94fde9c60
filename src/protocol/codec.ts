/**
 * Encoding and decoding of one frame body (a Frame message) with the generated schema, plus the
 * checks from validate.ts. The types come from proto/wire.proto: WireMessage is the oneof of
 * Frame, so a switch on `message.case` is exhaustive over every message type.
 */
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { FrameSchema, type Frame } from './gen/wire_pb.ts';
import { frame } from './framing.ts';
import { MAX_FRAME_BYTES, PROTOCOL_VERSION } from './limits.ts';
import { checkClose, checkHello, checkHit, checkPush, checkQuery, checkRouteTable } from './validate.ts';

/** One decoded message: `{ case: 'hello', value: Hello }`, `{ case: 'query', value: Query }`, ... */
export type WireMessage = Exclude<Frame['msg'], { case: undefined }>;
export type MessageType = WireMessage['case'];
/** What callers pass to send: the same union, with plain objects allowed for nested messages. */
export type OutgoingMessage = Exclude<NonNullable<MessageInitShape<typeof FrameSchema>['msg']>, { case: undefined }>;

export type DecodeError = {
  kind: 'malformed-frame' | 'unknown-type' | 'invalid-message' | 'version-mismatch';
  detail: string;
};
export type DecodeResult = { ok: true; message: WireMessage } | { ok: false; error: DecodeError };

/** The schema-level problem with a message, if any (see validate.ts). */
export function checkMessage(message: WireMessage): string | undefined {
  switch (message.case) {
    case 'hello':
      return checkHello(message.value);
    case 'query':
      return checkQuery(message.value);
    case 'hit':
      return checkHit(message.value);
    case 'close':
      return checkClose(message.value);
    case 'push':
      return checkPush(message.value);
    case 'routeTable':
      return checkRouteTable(message.value);
    case 'ping':
    case 'pong':
      return undefined;
  }
}

/** Build the full message (defaults filled in) from its init shape. */
export function toWireMessage(message: OutgoingMessage): WireMessage {
  return create(FrameSchema, { msg: message }).msg as WireMessage;
}

/**
 * Encode a message as a frame body. Throws if the message breaks a limit: sending it would only
 * make the peer close the link, so it is a bug in the caller.
 */
export function encodeMessage(message: OutgoingMessage): Uint8Array {
  const full = toWireMessage(message);
  const problem = checkMessage(full);
  if (problem) throw new RangeError(`refusing to send an invalid ${full.case}: ${problem}`);
  const body = toBinary(FrameSchema, create(FrameSchema, { msg: full }));
  if (body.length > MAX_FRAME_BYTES)
    throw new RangeError(`a ${full.case} of ${body.length} bytes exceeds the frame cap`);
  return body;
}

/** Encode a message as a complete frame: length prefix and body. */
export function encodeFrame(message: OutgoingMessage): Uint8Array {
  return frame(encodeMessage(message));
}

/** Why a Hello of `version` is refused: older peers are told to upgrade. */
export function versionProblem(version: number): string {
  return version < PROTOCOL_VERSION
    ? `version ${version} peer: upgrade (this peer speaks protocol version ${PROTOCOL_VERSION} only)`
    : `protocol version ${version} is not supported (this peer speaks ${PROTOCOL_VERSION})`;
}

/** Decode and check one frame body; never throws. */
export function decodeMessage(body: Uint8Array): DecodeResult {
  let decoded: Frame;
  try {
    decoded = fromBinary(FrameSchema, body);
  } catch (err) {
    return { ok: false, error: { kind: 'malformed-frame', detail: (err as Error).message } };
  }
  const msg = decoded.msg;
  if (msg.case === undefined) {
    // The schema skips field numbers it does not know; report them so the log says what came.
    const numbers = (decoded.$unknown ?? []).map((field) => field.no);
    const detail = numbers.length > 0 ? `unknown message type ${numbers.join(', ')}` : 'empty frame';
    return { ok: false, error: { kind: 'unknown-type', detail } };
  }
  // The version is checked before the other Hello fields: a newer peer's Hello may differ in them.
  if (msg.case === 'hello' && msg.value.protocolVersion !== PROTOCOL_VERSION) {
    return { ok: false, error: { kind: 'version-mismatch', detail: versionProblem(msg.value.protocolVersion) } };
  }
  const problem = checkMessage(msg);
  if (problem) return { ok: false, error: { kind: 'invalid-message', detail: `${msg.case}: ${problem}` } };
  return { ok: true, message: msg };
}
