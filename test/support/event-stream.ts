/** Read a whole Server-Sent-Events answer (one that ends by itself) into its events, in order. */
export interface StreamEvent<T = unknown> {
  event: string;
  data: T;
}

export async function readEventStream<T = unknown>(res: Response): Promise<Array<StreamEvent<T>>> {
  if (!res.headers.get('content-type')?.startsWith('text/event-stream'))
    throw new Error(`not an event stream: HTTP ${res.status} ${res.headers.get('content-type')}`);
  const events: Array<StreamEvent<T>> = [];
  for (const block of (await res.text()).split('\n\n')) {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (event && data) events.push({ event, data: JSON.parse(data) as T });
  }
  return events;
}

/** POST a JSON body asking for the answer as a stream of events. */
export function postForEvents(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
  });
}
