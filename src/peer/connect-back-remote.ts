/**
 * Connect-back (PUSH) for a Download in a process of its own (split mode; docs/ARCHITECTURE.md
 * "Peers behind NAT"). The holder's connection arrives at this peer's File Management, in another
 * process, so for a source held firewalled Download asks File Management to splice it over
 * (`GET /connect-backs/HOLDER` upgraded to peershare-push/1 on its plaintext side:
 * files/adapters/http/connect-back-splice.ts), and once File Management says it waits (`100`),
 * has Search send the signed Push (`POST /push`). The socket File Management hands over on `101`
 * carries the holder's HTTP as an in-process connect-back does; the range client verifies every
 * chunk as from any source. Each step has a deadline, and a failure ends that attempt only.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectBackFor } from '../download/adapters/http/http-chunk-source.ts';
import { SPLICE_PATH } from '../files/adapters/http/connect-back-splice.ts';
import { CONNECT_BACK_TIMEOUT_MS } from '../shared/connect-backs.ts';
import { isPeershareError, PeershareError, type ErrorBody } from '../shared/errors.ts';
import { ALPN_PUSH } from '../shared/peer-tls.ts';
import { CLIENT_HEADER } from '../shared/site-guard.ts';
import { noPushSent } from './connect-back.ts';

/** File Management on this host says it waits within this time, or the splice fails. */
const SPLICE_ASK_MS = 5_000;
/** Past File Management's own deadline for the holder (it answers then): a File Management that never does. */
const SPLICE_WAIT_MS = CONNECT_BACK_TIMEOUT_MS + 5_000;
/** The most of an error answer read. */
const MAX_ERROR_BYTES = 64 * 1024;

export interface RemoteConnectBackOptions {
  /** Whether `peerId` is held firewalled (as Fetch listed it to Download's directory). */
  isFirewalled(peerId: string): boolean;
  /** This peer's files address as its signed record lists it: the Push names it. */
  ownFilesAddress(): Promise<string | undefined>;
  /** Have Search send the Push; rejects when none was sent. */
  push(holder: string, fileId: string, filesAddress: string): Promise<void>;
  /** File Management's API on this host, and the token its splice route asks for off loopback. */
  filesUrl: string;
  token: string | undefined;
}

/** The requester's side in split mode: for a firewalled source, a splice through File Management and a Push through Search. */
export function connectBackOverHttp(o: RemoteConnectBackOptions): ConnectBackFor {
  return (peerId, fileId) => {
    if (!o.isFirewalled(peerId)) return undefined;
    return async (signal: AbortSignal): Promise<Socket> => {
      const own = await o.ownFilesAddress();
      if (own === undefined) throw noPushSent(peerId, 'this peer advertises no files address yet');
      const splice = await askSplice(o.filesUrl, peerId, o.token, signal);
      try {
        await o.push(peerId, fileId, own);
      } catch (err) {
        splice.cancel();
        throw isPeershareError(err) && err.code === 'UNAVAILABLE'
          ? err
          : noPushSent(peerId, `Search: ${(err as Error).message}`);
      }
      return splice.connected;
    };
  };
}

/** A splice File Management waits for: the socket once the holder connected back, or why not. */
interface PendingSplice {
  connected: Promise<Socket>;
  cancel(): void;
}

/** Ask File Management at `filesUrl` for the connect-back of `holder`; resolves once it waits for it. */
function askSplice(filesUrl: string, holder: string, token: string | undefined, signal: AbortSignal) {
  return new Promise<PendingSplice>((resolveAsked, rejectAsked) => {
    let resolveConnected!: (socket: Socket) => void;
    let rejectConnected!: (err: Error) => void;
    const connected = new Promise<Socket>((resolve, reject) => {
      resolveConnected = resolve;
      rejectConnected = reject;
    });
    connected.catch(() => undefined); // awaited by the caller once the push went; not before
    let state: 'asking' | 'waiting' | 'spliced' | 'failed' = 'asking';
    let socket: Socket | undefined;
    let timer = setTimeout(() => fail(timeout(SPLICE_ASK_MS, 'did not answer')), SPLICE_ASK_MS);
    const fail = (err: Error) => {
      if (state === 'failed') return;
      const was = state;
      state = 'failed';
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      socket?.destroy();
      if (was === 'asking') rejectAsked(err);
      else rejectConnected(err);
    };
    const onAbort = () => fail(new PeershareError('UNAVAILABLE', 'aborted'));
    const req = httpRequest(new URL(`${SPLICE_PATH}${holder}`, filesUrl), {
      method: 'GET',
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: ALPN_PUSH,
        [CLIENT_HEADER]: 'service',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
    req.on('information', (info: { statusCode: number }) => {
      if (info.statusCode !== 100 || state !== 'asking') return;
      state = 'waiting';
      clearTimeout(timer);
      timer = setTimeout(() => fail(timeout(SPLICE_WAIT_MS, 'did not hand over the connect-back')), SPLICE_WAIT_MS);
      resolveAsked({ connected, cancel: () => fail(new PeershareError('UNAVAILABLE', 'splice cancelled')) });
    });
    req.on('upgrade', (_res: IncomingMessage, upgraded: Socket, head: Buffer) => {
      if (state !== 'waiting') return void upgraded.destroy(); // never before it said it waits
      state = 'spliced';
      socket = upgraded;
      upgraded.on('error', () => undefined); // its reader adds its own; a reset before then ends this attempt only
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (head.length > 0) upgraded.unshift(head);
      resolveConnected(upgraded);
    });
    req.on('response', (res: IncomingMessage) => void refusal(res).then(fail));
    req.on('error', (err) =>
      fail(
        isPeershareError(err)
          ? err
          : new PeershareError('UNAVAILABLE', `File Management's connect-back splice failed: ${err.message}`),
      ),
    );
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    req.end();
  });
}

function timeout(ms: number, what: string): PeershareError {
  return new PeershareError('UNAVAILABLE', `File Management ${what} within ${ms} ms (connect-back splice)`);
}

/** The error an answer other than the upgrade carries (the one error body), read up to its cap. */
async function refusal(res: IncomingMessage): Promise<PeershareError> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_ERROR_BYTES) break;
      parts.push(chunk);
    }
    const { error } = JSON.parse(Buffer.concat(parts).toString('utf8')) as ErrorBody;
    return new PeershareError(error.code, error.message, { status: res.statusCode });
  } catch {
    return new PeershareError('UNAVAILABLE', `File Management answered ${res.statusCode} to a connect-back splice`);
  }
}
