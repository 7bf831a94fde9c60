/**
 * Benchmarks that spread their peers over child processes (one per CPU, like hosts sharing the
 * machine's cores): the parent forks a child running the same file with an environment flag set,
 * then calls it with requests over IPC; the child answers each with `serveWorker`'s handler.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';

export interface Worker<Req extends { type: string }> {
  readonly child: ChildProcess;
  /** Ask the child; rejects with its error, when it exits, or after `timeoutMs`. */
  call<T>(req: Req, timeoutMs?: number): Promise<T>;
  /** Disconnect and wait for the child to exit (SIGKILL after 5 s). */
  close(): Promise<void>;
}

/** How many children: `env` if set, else one per CPU and at most 4 (more event loops than cores only adds run-queue waits), never more than `most`. */
export function workerCount(env: string | undefined, most: number): number {
  return Math.max(1, Math.min(most, Number(env ?? Math.min(4, availableParallelism()))));
}

/** Fork `file` (a tsx-run benchmark) as a worker: `flag`=1 set in its environment. */
export function forkWorker<Req extends { type: string }>(
  file: string,
  flag: string,
  execArgv: string[] = [],
): Worker<Req> {
  const child = fork(file, [], {
    execArgv: ['--import', 'tsx', ...execArgv],
    env: { ...process.env, [flag]: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  child.on('message', (msg: { id: number; answer?: unknown; error?: string }) => {
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error !== undefined) p?.reject(new Error(msg.error));
    else p?.resolve(msg.answer);
  });
  child.on('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`worker exited (${signal ?? code})`));
    pending.clear();
  });
  return {
    child,
    call<T>(req: Req, timeoutMs = 60_000): Promise<T> {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`worker: no answer to ${req.type} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => (clearTimeout(timer), resolve(v as T)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
        child.send({ id, req });
      });
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** In the child: answer every request from the parent with `handle` (its error as a string). */
export function serveWorker<Req>(handle: (req: Req) => Promise<unknown>): void {
  process.on('message', (msg: { id: number; req: Req }) => {
    handle(msg.req).then(
      (answer) => process.send!({ id: msg.id, answer }),
      (err: unknown) => process.send!({ id: msg.id, error: String((err as Error)?.stack ?? err) }),
    );
  });
}
