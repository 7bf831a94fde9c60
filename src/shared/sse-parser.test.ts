import { describe, expect, it } from 'vitest';
import { parseSse, SseParser } from './sse-parser.ts';

describe('SseParser', () => {
  it('gives each event once its blank line arrives, however the text is cut', () => {
    const stream = 'event: progress\ndata: {"a":1}\n\n: heartbeat\n\nevent: done\ndata: {"b":2}\n\n';
    for (let cut = 0; cut <= stream.length; cut += 1) {
      const parser = new SseParser();
      const events = [...parser.push(stream.slice(0, cut)), ...parser.push(stream.slice(cut))];
      expect(events).toEqual([
        { event: 'progress', data: '{"a":1}' },
        { event: 'done', data: '{"b":2}' },
      ]);
    }
  });

  it('names an event "message" without an event line and joins data lines with newlines', () => {
    expect(parseSse('data: one\ndata:two\n\n')).toEqual([{ event: 'message', data: 'one\ntwo' }]);
  });

  it('keeps an unfinished block for later, and a whole stream may end without its blank line', () => {
    const parser = new SseParser();
    expect(parser.push('event: x\ndata: 1')).toEqual([]);
    expect(parseSse('event: x\ndata: 1')).toEqual([{ event: 'x', data: '1' }]);
  });
});
