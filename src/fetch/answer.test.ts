import { describe, expect, it } from 'vitest';
import type { FetchApi } from './adapters/http/fetch-routes.ts';
import { FetchApiBoundAtStart } from './answer.ts';

/** A FetchApi whose every method records its name and arguments in `calls`. */
function recordingApi(calls: unknown[][]): FetchApi {
  const record =
    <R>(name: string, result: R) =>
    (...args: unknown[]) => {
      calls.push([name, ...args]);
      return result;
    };
  return {
    answer: record('answer', Promise.resolve({} as Awaited<ReturnType<FetchApi['answer']>>)),
    leave: record('leave', undefined),
    self: record('self', { peerId: 'p', addresses: {} as ReturnType<FetchApi['self']>['addresses'], advertised: [] }),
    peers: record('peers', []),
    events: record('events', []),
    sources: record('sources', []),
    firewalled: record('firewalled', []),
    firewalledSources: record('firewalledSources', []),
    joinPins: record('joinPins', []),
    forgetJoinPins: record('forgetJoinPins', []),
    dialBack: record('dialBack', Promise.resolve({ observed: '127.0.0.1:1', reachable: true })),
  };
}

describe('FetchApiBoundAtStart', () => {
  it('answers UNAVAILABLE while the service starts, before an api is bound', () => {
    const api = new FetchApiBoundAtStart();
    const starting = { code: 'UNAVAILABLE', message: 'fetch service is starting' };
    expect(() => api.peers()).toThrow(expect.objectContaining(starting));
    expect(() => api.leave({})).toThrow(expect.objectContaining(starting));
    expect(() => api.answer({}, '127.0.0.1')).toThrow(expect.objectContaining(starting));
  });

  it('passes every call, with its arguments, to the api bound at start', async () => {
    const calls: unknown[][] = [];
    const api = new FetchApiBoundAtStart();
    api.bind(recordingApi(calls));
    await api.answer({ from: 'x' }, '127.0.0.2');
    api.leave({ tombstone: true });
    api.self();
    api.peers();
    api.events(5);
    api.sources('f1');
    api.firewalled();
    api.firewalledSources('f2');
    api.joinPins();
    api.forgetJoinPins('127.0.0.3:7874');
    await api.dialBack('peer', '127.0.0.4', 7874);
    expect(calls).toEqual([
      ['answer', { from: 'x' }, '127.0.0.2'],
      ['leave', { tombstone: true }],
      ['self'],
      ['peers'],
      ['events', 5],
      ['sources', 'f1'],
      ['firewalled'],
      ['firewalledSources', 'f2'],
      ['joinPins'],
      ['forgetJoinPins', '127.0.0.3:7874'],
      ['dialBack', 'peer', '127.0.0.4', 7874],
    ]);
  });
});
