import { describe, expect, it } from 'vitest';
import { sseParser, type SseMessage } from './sse.ts';

function parse(pieces: string[]): SseMessage[] {
  const out: SseMessage[] = [];
  const parser = sseParser((m) => out.push(m));
  for (const p of pieces) parser.push(p);
  return out;
}

describe('the SSE parser', () => {
  it('yields named events with their data, skipping comments', () => {
    expect(parse([': peershare\n\nevent: hit\ndata: {"a":1}\n\nevent: summary\ndata: {}\n\n'])).toEqual([
      { event: 'hit', data: '{"a":1}' },
      { event: 'summary', data: '{}' },
    ]);
  });

  it('joins data lines and defaults the name to message', () => {
    expect(parse(['data: one\ndata:two\n\n'])).toEqual([{ event: 'message', data: 'one\ntwo' }]);
  });

  it('copes with a stream cut anywhere, and CRLF line ends', () => {
    const text = 'event: progress\r\ndata: {"bytesDone":5}\r\n\r\nevent: progress\r\ndata: {"bytesDone":9}\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      expect(parse([text.slice(0, cut), text.slice(cut)]).map((m) => m.data)).toEqual([
        '{"bytesDone":5}',
        '{"bytesDone":9}',
      ]);
    }
  });

  it('waits for the blank line before dispatching', () => {
    expect(parse(['event: hit\ndata: {}\n'])).toEqual([]);
  });
});
