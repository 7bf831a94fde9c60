/**
 * The "timed" schedule of a Fetch round (fetch-network.ts): requests that overlap in simulated
 * time, as they do when every peer of `bench -- join` runs its round at once. Each peer sends
 * what service.ts sends at once (the fanout picks, the down probes, the join address) at the
 * round's start, and its verification probes `concurrency` at a time, each next one leaving when
 * an earlier one's answer is in (service.ts's inTurn). A request reaches its answerer after one
 * latency draw and is answered from the answerer's state at that moment; the answer reaches the
 * asker after another draw and is applied then. An answer that comes back early is thus applied
 * while other requests are still on their way, and what it brought goes out in its asker's
 * answers at once: news can move more than one hop in a round, as on the real network.
 *
 * Nothing inside a round waits on a deadline (the round ends when the last answer is in; the
 * service's "no probe starts after half an interval" reads a clock that `bench -- join` and the
 * simulator move only between rounds), so multiplying every delay by a constant changes nothing:
 * only the shape of the delay distribution matters, not its median. This module knows nothing of
 * Fetch: the network hands it the requests and what to do when one arrives and when it returns.
 * A request on a new connection (a first contact) can be given handshake legs: more delays
 * before it arrives (`--handshake-legs`: TCP connect and TLS 1.3 handshake are 4).
 */
import { EventQueue, type Timed } from './event-queue.ts';

/**
 * A request of the round; `probe`: a verification probe (sent `concurrency` at a time);
 * `handshake`: one-way legs it makes before the request itself leaves (a new connection's TCP
 * and TLS handshake), each a delay of its own.
 */
export interface TimedSend {
  readonly probe: boolean;
  readonly handshake: number;
}

interface Step<S, O> extends Timed {
  readonly send: S;
  /** The answer (or failure) on its way back; absent while the request is on its way there. */
  readonly answer?: { readonly outcome: O };
  /** Whose probes wait for this one's return. */
  readonly queue: S[];
}

/**
 * Run one round of `sends` (each peer's requests, in the order it planned them) on a simulated
 * timeline; resolves once every answer was applied. `arrive` answers a request (or fails it) at
 * its answerer; `back` applies the outcome at the asker. `delay` draws one one-way delay (ms).
 */
export async function timedRound<S extends TimedSend, O>(
  sends: readonly (readonly S[])[],
  concurrency: number,
  delay: () => number,
  arrive: (send: S) => Promise<O>,
  back: (send: S, outcome: O) => void,
): Promise<void> {
  const queue = new EventQueue<Step<S, O>>();
  const leave = (send: S, at: number, waiting: S[]) => {
    let there = at + delay();
    for (let leg = 0; leg < send.handshake; leg++) there += delay();
    queue.push({ at: there, seq: 0, send, queue: waiting });
  };
  for (const peer of sends) {
    const probes = peer.filter((s) => s.probe);
    const waiting = probes.slice(concurrency);
    for (const send of peer.filter((s) => !s.probe)) leave(send, 0, waiting);
    for (const send of probes.slice(0, concurrency)) leave(send, 0, waiting);
  }
  for (let step = queue.pop(); step !== undefined; step = queue.pop()) {
    if (step.answer === undefined) {
      const outcome = await arrive(step.send);
      queue.push({ at: step.at + delay(), seq: 0, send: step.send, answer: { outcome }, queue: step.queue });
      continue;
    }
    back(step.send, step.answer.outcome);
    const next = step.send.probe ? step.queue.shift() : undefined;
    if (next !== undefined) leave(next, step.at, step.queue);
  }
}
