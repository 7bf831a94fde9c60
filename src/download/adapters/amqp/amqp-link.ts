/**
 * One recovering AMQP connection (amqplib's opt-in `recovery`) and its confirm channel.
 * amqplib recovers the connection only: channels, topology and consumers are rebuilt here after
 * every (re)connect, and a channel the broker closes on its own (e.g. the acknowledgement timeout)
 * is reopened. Publishes are pipelined — each resolves on its own confirm — and fail with
 * UNAVAILABLE, never wait forever, when no confirm can arrive within `publishTimeoutMs`.
 */
import { EventEmitter } from 'node:events';
import amqp, { type ChannelModel, type ConfirmChannel, type Options, type RecoveringChannelModel } from 'amqplib';
import { PeershareError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logging.ts';

export interface LinkOptions {
  url: string;
  logger: Logger;
  publishTimeoutMs: number;
  connectTimeoutMs: number;
  /** Run after every (re)connect once the confirm channel is open: declare, consume. */
  onConnect(model: ChannelModel, channel: ConfirmChannel): Promise<void>;
}

export class AmqpLink {
  private conn: RecoveringChannelModel | undefined;
  private model: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  private drained: Promise<void> | undefined;
  private stopped = false;
  private readonly ready = new EventEmitter().setMaxListeners(0);

  constructor(private readonly options: LinkOptions) {}

  /** The live connection, if any (consumers open their channels on it). */
  get current(): ChannelModel | undefined {
    return this.model;
  }

  async start(): Promise<void> {
    const log = this.options.logger;
    const conn = await amqp.connect(this.options.url, {
      // A deadline on every (re)connect's handshake: amqplib has none, and one attempt that hangs
      // (a broker that accepts and never answers) would hold its recovery forever.
      timeout: this.options.connectTimeoutMs,
      recovery: {
        initialDelay: 100,
        maxDelay: 2_000,
        waitForConnect: false,
        setup: (model: ChannelModel) => this.setupInTime(model),
      },
    });
    this.conn = conn;
    conn.on('error', (err: Error) => log.warn({ err }, 'rabbitmq connection error'));
    conn.on('handler-error', (err: Error, event: string) => log.error({ err, event }, 'rabbitmq event handler threw'));
    conn.on('connect-failed', (err: Error) => log.debug({ err: err.message }, 'rabbitmq connect failed'));
    conn.on('reconnect-scheduled', (e: { attempt: number; delay: number }) =>
      log.debug({ attempt: e.attempt, delay: e.delay }, 'rabbitmq reconnect scheduled'),
    );
    conn.on('connect', () => log.debug('rabbitmq connected'));
    conn.on('disconnect', (err: Error) => {
      log.warn({ err: err.message }, 'rabbitmq disconnected; reconnecting');
      this.model = this.channel = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        conn.waitForConnect(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), this.options.connectTimeoutMs);
        }),
      ]);
    } catch (err) {
      await this.stop();
      throw new PeershareError(
        'UNAVAILABLE',
        `cannot reach RabbitMQ at ${redact(this.options.url)}`,
        {},
        { cause: err },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const conn = this.conn;
    this.conn = this.model = this.channel = undefined;
    this.ready.emit('stopped');
    await conn?.close().catch(() => undefined);
  }

  /** Publishes with confirm; resolves when the broker has taken responsibility for the message. */
  async publish(queue: string, body: Buffer, props: Options.Publish): Promise<void> {
    const deadline = Date.now() + this.options.publishTimeoutMs;
    const ch = this.channel ?? (await this.waitForChannel(deadline));
    if (this.drained) await this.drained;
    return new Promise<void>((resolve, reject) => {
      const fail = (why: string, cause?: unknown) =>
        reject(
          new PeershareError(
            'UNAVAILABLE',
            `RabbitMQ did not confirm the job (${why}); it may or may not be queued`,
            { queue },
            { cause },
          ),
        );
      const timer = setTimeout(() => fail('no confirm in time'), Math.max(1, deadline - Date.now()));
      try {
        const ok = ch.sendToQueue(queue, body, props, (err: unknown) => {
          clearTimeout(timer);
          if (err) fail('broker refused or connection lost', err);
          else resolve();
        });
        // The socket buffer is full: later publishes wait for it to drain instead of piling up.
        if (!ok && !this.drained) {
          this.drained = new Promise<void>((r) => ch.once('drain', r).once('close', r)).then(() => {
            this.drained = undefined;
          });
        }
      } catch (err) {
        clearTimeout(timer);
        fail('channel closed', err);
      }
    });
  }

  /** setup() within connectTimeoutMs, or the connection is closed so recovery tries again. */
  private async setupInTime(model: ChannelModel): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no answer to the channel setup in ${this.options.connectTimeoutMs} ms`));
        void model.close().catch(() => undefined);
      }, this.options.connectTimeoutMs);
    });
    try {
      await Promise.race([this.setup(model), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async setup(model: ChannelModel): Promise<void> {
    const ch = await model.createConfirmChannel();
    ch.on('error', (err: Error) => this.options.logger.warn({ err }, 'rabbitmq publish channel error'));
    ch.on('close', () => {
      if (this.channel !== ch) return;
      this.channel = undefined;
      // Closed by the broker while the connection lives on: open a new one on it.
      if (!this.stopped && this.model === model) setTimeout(() => void this.reopen(model), 100);
    });
    await this.options.onConnect(model, ch);
    this.model = model;
    this.channel = ch;
    this.ready.emit('ready');
  }

  private async reopen(model: ChannelModel): Promise<void> {
    if (this.stopped || this.model !== model || this.channel) return;
    try {
      await this.setup(model);
    } catch (err) {
      this.options.logger.warn({ err }, 'rabbitmq: reopening the channel failed; closing the connection to recover');
      await model.close().catch(() => undefined);
    }
  }

  private waitForChannel(deadline: number): Promise<ConfirmChannel> {
    if (this.stopped) return Promise.reject(notRunning());
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.ready.off('ready', done).off('stopped', done);
        if (this.channel) resolve(this.channel);
        else
          reject(
            this.stopped
              ? notRunning()
              : new PeershareError('UNAVAILABLE', 'RabbitMQ is unreachable; the job was not queued', {}),
          );
      };
      const timer = setTimeout(done, Math.max(1, deadline - Date.now()));
      this.ready.on('ready', done).on('stopped', done);
    });
  }
}

function notRunning(): PeershareError {
  return new PeershareError('UNAVAILABLE', 'the download queue is not running', { kind: 'rabbitmq' });
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
