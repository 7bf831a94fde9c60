/**
 * A Server-Sent Events parser for streams read with fetch() (EventSource cannot show an error
 * answer's message, nor be told not to reconnect). Feed it text as it arrives; it calls back
 * once per complete event with the event name and its data lines joined.
 */

export interface SseMessage {
  event: string;
  data: string;
}

export interface SseParser {
  /** Feed the next piece of the stream, cut anywhere. */
  push(text: string): void;
}

export function sseParser(onMessage: (message: SseMessage) => void): SseParser {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  const line = (l: string) => {
    if (l === '') {
      if (data.length > 0) onMessage({ event: event || 'message', data: data.join('\n') });
      event = '';
      data = [];
      return;
    }
    if (l.startsWith(':')) return;
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  };
  return {
    push(text) {
      buffer += text;
      let end: number;
      while ((end = buffer.search(/\r\n|\r|\n/)) >= 0) {
        // A lone \r at the very end may be the first half of \r\n: wait for the next piece.
        if (buffer[end] === '\r' && end === buffer.length - 1) break;
        const next = buffer[end] === '\r' && buffer[end + 1] === '\n' ? end + 2 : end + 1;
        line(buffer.slice(0, end));
        buffer = buffer.slice(next);
      }
    },
  };
}
