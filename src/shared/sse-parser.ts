/**
 * The reading side of Server-Sent Events (sse.ts writes them): text in as it arrives, whole
 * events out. An event is a block ended by a blank line; its `event:` line names it ("message"
 * when absent) and its `data:` lines, joined by newlines, carry the data. Comment lines (":",
 * the heartbeat) and blocks without data give no event. The one parser for the Client's HTTP
 * client, the benchmarks and the test support.
 */
export interface ServerSentEvent {
  readonly event: string;
  readonly data: string;
}

export class SseParser {
  #buffer = '';

  /** The events completed by `text`; an unfinished block waits for the next call. */
  push(text: string): ServerSentEvent[] {
    this.#buffer += text;
    const events: ServerSentEvent[] = [];
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const event = parseBlock(block);
      if (event) events.push(event);
    }
    return events;
  }
}

/** Every event of a whole stream (one that ended). */
export function parseSse(text: string): ServerSentEvent[] {
  return new SseParser().push(text.endsWith('\n\n') ? text : `${text}\n\n`);
}

function parseBlock(block: string): ServerSentEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  return data.length > 0 ? { event, data: data.join('\n') } : undefined;
}
