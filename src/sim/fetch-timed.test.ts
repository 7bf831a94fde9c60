import { describe, expect, it } from 'vitest';
import { timedRound } from './fetch-timed.ts';

interface Req {
  readonly name: string;
  readonly probe: boolean;
  readonly handshake: number;
}

/** One round of `sends` with delays drawn from `delays` in turn; what happened, in order. */
async function log(sends: Req[][], delays: number[], concurrency = 2): Promise<string[]> {
  const events: string[] = [];
  let next = 0;
  await timedRound(
    sends,
    concurrency,
    () => delays[next++ % delays.length] as number,
    (send) => {
      events.push(`answer ${send.name}`);
      return Promise.resolve(send.name);
    },
    (send, outcome) => events.push(`apply ${send.name}${outcome === send.name ? '' : ' (wrong outcome)'}`),
  );
  return events;
}

const req = (name: string, probe = false, handshake = 0): Req => ({ name, probe, handshake });

describe('a Fetch round on a timeline', () => {
  it('applies an answer that comes back early before a later request is answered', async () => {
    // a goes there in 1 ms, b in 5; a's answer is back after 1 more: applied before b arrives.
    expect(await log([[req('a')], [req('b')]], [1, 5, 1, 1])).toEqual(['answer a', 'apply a', 'answer b', 'apply b']);
  });

  it('with equal delays, answers every request before it applies any answer (lock-step)', async () => {
    expect(await log([[req('a'), req('b')], [req('c')]], [1])).toEqual([
      'answer a',
      'answer b',
      'answer c',
      'apply a',
      'apply b',
      'apply c',
    ]);
  });

  it('sends the other requests at once and the probes a few at a time, each next one when an earlier one is back', async () => {
    // Concurrency 2: p1 and p2 leave at 0 with f, p3 when p1 is back, p4 when p2 is back.
    const events = await log([[req('p1', true), req('f'), req('p2', true), req('p3', true), req('p4', true)]], [1]);
    expect(events).toEqual([
      'answer f',
      'answer p1',
      'answer p2',
      'apply f',
      'apply p1',
      'apply p2',
      'answer p3',
      'answer p4',
      'apply p3',
      'apply p4',
    ]);
  });

  it('delays a request on a new connection by its handshake legs', async () => {
    // a and b leave together with equal delays, but b first makes two handshake legs.
    expect(await log([[req('b', false, 2)], [req('a')]], [1])).toEqual(['answer a', 'apply a', 'answer b', 'apply b']);
  });

  it('answers every request once and applies every answer once, whatever the delays', async () => {
    const sends = [[req('a'), req('a1', true), req('a2', true), req('a3', true)], [req('b'), req('b1', true)], []];
    const events = await log(sends, [3, 0.5, 7, 1, 2, 9, 0.1]);
    const names = sends.flat().map((s) => s.name);
    expect(events.filter((e) => e.startsWith('answer')).sort()).toEqual(names.map((n) => `answer ${n}`).sort());
    expect(events.filter((e) => e.startsWith('apply')).sort()).toEqual(names.map((n) => `apply ${n}`).sort());
    for (const n of names) expect(events.indexOf(`answer ${n}`)).toBeLessThan(events.indexOf(`apply ${n}`));
  });
});
