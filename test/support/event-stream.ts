/** Read a whole Server-Sent-Events answer (one that ends by itself) into its events, in order. */
import { parseSse } from '../../src/shared/sse-parser.ts';
export interface StreamEvent<T = unknown> {
  event: string;
  data: T;
}

export async function readEventStream<T = unknown>(res: Response): Promise<Array<StreamEvent<T>>> {
  if (!res.headers.get('content-type')?.startsWith('text/event-stream'))
    throw new Error(`not an event stream: HTTP ${res.status} ${res.headers.get('content-type')}`);
  return parseSse(await res.text()).map(({ event, data }) => ({ event, data: JSON.parse(data) as T }));
}

/** POST a JSON body asking for the answer as a stream of events. */
export function postForEvents(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
  });
}
