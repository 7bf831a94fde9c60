/**
 * One long-lived hidden Erlang node that evaluates expressions against a RabbitMQ node, for
 * tests that stop, start or reconfigure it. rabbitmqctl boots a fresh Erlang VM for every call:
 * about a second on an idle machine, 15–25 s on a loaded one (measured: load 16 on 2 cores),
 * which made a broker restart cost a minute. This VM boots once, in parallel with the broker.
 *
 * Protocol: one Erlang expression a line on stdin (`Node` is bound to the target node), one
 * `peershare-reply TERM` line on stdout for it. When stdin closes (the test process ended, even
 * by SIGKILL) it stops the target node and exits, so an interrupted run leaves no node behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const REPLY = 'peershare-reply ';

/** The read-eval loop, run by `erl -eval`. */
const LOOP = `
  Node = list_to_atom(os:getenv("PEERSHARE_TARGET_NODE")),
  Eval = fun(Line) ->
    try
      {ok, Tokens, _} = erl_scan:string(Line),
      {ok, Exprs} = erl_parse:parse_exprs(Tokens),
      {value, Value, _} = erl_eval:exprs(Exprs, erl_eval:add_binding('Node', Node, erl_eval:new_bindings())),
      {ok, Value}
    catch Class:Reason -> {Class, Reason}
    end
  end,
  Loop = fun L() ->
    case io:get_line("") of
      eof -> rpc:call(Node, init, stop, [], 10000), halt(0);
      Line -> io:format("${REPLY}~w~n", [Eval(Line)]), L()
    end
  end,
  Loop().`;

export class ErlangControl {
  readonly #child: ChildProcess;
  readonly #replies: Array<(line: string) => void> = [];
  #queue: Promise<unknown> = Promise.resolve();
  #exited = false;

  /** `name` is this control node's short name; `env` carries HOME (the cookie) and ERL_EPMD_ADDRESS. */
  constructor(name: string, target: string, env: NodeJS.ProcessEnv) {
    this.#child = spawn(
      'erl',
      ['-sname', name, '-hidden', '-noshell', '-kernel', 'inet_dist_use_interface', '{127,0,0,1}', '-eval', LOOP],
      {
        env: { ...env, PEERSHARE_TARGET_NODE: target },
        stdio: ['pipe', 'pipe', 'ignore'],
      },
    );
    this.#child.on('error', () => undefined);
    this.#child.stdin!.on('error', () => undefined); // the VM gone: calls fail by their deadline
    this.#child.once('exit', () => {
      this.#exited = true;
      for (const reply of this.#replies.splice(0)) reply('exited');
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      if (line.startsWith(REPLY)) this.#replies.shift()?.(line.slice(REPLY.length));
    });
  }

  /** Evaluates `expr` (no trailing dot) and resolves with the printed `{ok, Value}` or `{Class, Reason}`. */
  eval(expr: string, timeoutMs: number): Promise<string> {
    const next = this.#queue.then(() => this.#evalNow(expr, timeoutMs));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #evalNow(expr: string, timeoutMs: number): Promise<string> {
    if (this.#exited) return Promise.reject(new Error(`erlang control node exited; cannot run ${expr}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Its reply, if it ever comes, must not be taken for the next call's.
        this.close();
        reject(new Error(`no answer from the erlang control node in ${timeoutMs} ms to ${expr}`));
      }, timeoutMs);
      this.#replies.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
      this.#child.stdin!.write(`${expr.replace(/\n/g, ' ')}.\n`);
    });
  }

  /** Ends the control node (and so, by its loop, the target node if still running). */
  close(): void {
    this.#child.stdin!.end();
  }

  get exited(): Promise<void> {
    if (this.#exited) return Promise.resolve();
    return new Promise((resolve) => this.#child.once('exit', () => resolve()));
  }
}
