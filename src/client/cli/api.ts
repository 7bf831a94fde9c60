/**
 * How the `peershare` commands reach a running peer: its Client API, found from --api (a URL,
 * HOST or HOST:PORT), else PEERSHARE_API, else the local peer on the default port. A peer that
 * does not answer is reported in one line with the command that starts one.
 */
import { isIP } from 'node:net';
import {
  call,
  callWithProgress,
  followEvents,
  type CallOptions,
  type SseEvent,
  type SseStream,
} from '../adapters/http/http-json.ts';
import { DEFAULT_PORTS } from '../../shared/config.ts';
import { PeershareError } from '../../shared/errors.ts';
import { isNotAnswering } from '../../shared/http-client.ts';
import { invocation } from './invocation.ts';
import { UsageError } from './usage-error.ts';

/** The Client API base URL from --api or PEERSHARE_API (URL, host or host:port). */
export function resolveApiUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const raw = (flag ?? env.PEERSHARE_API ?? '').trim();
  if (raw === '') return `http://127.0.0.1:${DEFAULT_PORTS.clientPort}`;
  if (/^https?:\/\//i.test(raw)) {
    try {
      const url = new URL(raw);
      return `${url.protocol}//${url.host}`;
    } catch {
      throw new UsageError(`--api: not a URL: ${raw}`);
    }
  }
  const host = isIP(raw) === 6 ? `[${raw}]` : raw;
  const withPort = /:\d+$/.test(host) && isIP(raw) !== 6 ? host : `${host}:${DEFAULT_PORTS.clientPort}`;
  try {
    return `http://${new URL(`http://${withPort}`).host}`;
  } catch {
    throw new UsageError(`--api: expected a URL, HOST or HOST:PORT, got "${raw}"`);
  }
}

export class Api {
  constructor(
    readonly url: string,
    private readonly token: string | undefined,
  ) {}

  call<T>(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<T> {
    return call<T>(method, `${this.url}${path}`, {
      token: this.token,
      ...(body !== undefined ? { body } : {}),
      ...options,
    }).catch((err) => {
      throw this.explain(err);
    });
  }

  /** A call whose answer streams its progress first (e.g. POST /shares while hashing). */
  callWithProgress<T, P>(method: string, path: string, body: unknown, onProgress: (p: P) => void): Promise<T> {
    return callWithProgress<T, P>(method, `${this.url}${path}`, onProgress, { token: this.token, body }).catch(
      (err) => {
        throw this.explain(err);
      },
    );
  }

  follow(path: string, onEvent: (e: SseEvent) => void): Promise<SseStream> {
    return followEvents(`${this.url}${path}`, onEvent, { token: this.token }).catch((err) => {
      throw this.explain(err);
    });
  }

  /** "Nothing answers" becomes the one line a user needs: which address, and how to start a peer there. */
  private explain(err: unknown): unknown {
    if (!isNotAnswering(err)) return err;
    const cause = String(err.details?.cause);
    // Only our own request: an error the Client API passed on (one of its services down) says itself.
    const url = err.details?.url;
    if (typeof url !== 'string' || !url.startsWith(`${this.url}/`)) return err;
    const host = new URL(this.url).hostname.replace(/^\[|\]$/g, '');
    const start = `${invocation()} start${host === '127.0.0.1' || host === 'localhost' ? '' : ` --host ${host}`}`;
    return new PeershareError(
      'UNAVAILABLE',
      `no peer answers at ${new URL(this.url).host} (${cause}); start one with: ${start}`,
    );
  }
}
