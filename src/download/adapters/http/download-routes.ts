/**
 * The Download service API: request a download (the job is queued durably before the answer),
 * list downloads with their progress, follow progress live (Server-Sent Events), pause, resume
 * and cancel, forget the downloads that ended, and read the dead-letter list.
 */
import { Type } from 'typebox';
import type { AdminGuard } from '../../../shared/admin-guard.ts';
import { BytesPerSecond } from '../../../shared/limits-schema.ts';
import type { HttpApp } from '../../../shared/http-server.ts';
import { FILE_ID_PATTERN } from '../../../shared/ids.ts';
import { openEventStream } from '../../../shared/sse.ts';
import type { DownloadManager } from '../../domain/download-manager.ts';
import type { Progress } from '../../domain/progress.ts';
import { MAX_SOURCES_NAMED, MAX_SOURCES_PER_JOB } from '../../domain/job.ts';
import type { JobQueue } from '../../queue-port.ts';

const Key = Type.String({ pattern: '^[0-9a-f]{32}$' });
const KeyParams = Type.Object({ key: Key });
const ErrorRef = Type.Ref('Error');

const ProgressSchema = Type.Object({
  key: Key,
  fileId: Type.String(),
  name: Type.String(),
  state: Type.String(),
  bytesDone: Type.Integer(),
  size: Type.Optional(Type.Integer()),
  rate: Type.Number({ description: 'bytes per second over the last seconds' }),
  etaSeconds: Type.Optional(Type.Integer()),
  sources: Type.Array(Type.String()),
  perSource: Type.Optional(
    Type.Array(Type.Object({ source: Type.String(), bytes: Type.Integer(), rate: Type.Number() }), {
      description:
        'while it runs: verified bytes each source delivered since the download (re)started, and its rate now',
    }),
  ),
  finalPath: Type.Optional(Type.String()),
  gone: Type.Optional(
    Type.Literal(true, {
      description:
        'done, but the file is no longer at finalPath (deleted or moved); asked for again, it is downloaded anew',
    }),
  ),
  error: Type.Optional(Type.String()),
});

const RequestBody = Type.Object(
  {
    fileId: Type.String({ pattern: FILE_ID_PATTERN }),
    name: Type.String({ minLength: 1, maxLength: 1024 }),
    sources: Type.Optional(
      Type.Array(
        Type.String({ maxLength: 512, description: 'peerId@host:port of a File Management that holds the file' }),
        {
          maxItems: MAX_SOURCES_NAMED,
          description: `best first: the first ${MAX_SOURCES_PER_JOB} are kept, the rest ignored`,
        },
      ),
    ),
    outDir: Type.Optional(Type.String({ maxLength: 4096 })),
    size: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'bytes the file should have (a link says so): a verified manifest of another size fails the download',
      }),
    ),
  },
  { additionalProperties: false },
);

const DownloadLimits = Type.Object({ maxDownloadRate: BytesPerSecond }, { additionalProperties: false });

export function registerDownloadRoutes(
  app: HttpApp,
  manager: DownloadManager,
  queue: JobQueue,
  admin: AdminGuard,
): void {
  app.post(
    '/downloads',
    {
      onRequest: admin,
      schema: {
        summary: 'Queue a download; answered once the job is durable in the queue',
        body: RequestBody,
        response: { 202: ProgressSchema, 400: ErrorRef, 503: ErrorRef },
      },
    },
    async (request, reply) => reply.status(202).send(await manager.request(request.body)),
  );

  app.get(
    '/downloads',
    {
      schema: {
        summary: 'Downloads, newest first, with progress',
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
        response: { 200: Type.Array(ProgressSchema) },
      },
    },
    async (request) => manager.list(request.query.limit),
  );

  app.get(
    '/downloads/events',
    {
      schema: {
        summary:
          'Live progress of every download (Server-Sent Events: "snapshot", then "progress"; "cleared" with the keys forgotten)',
      },
    },
    async (request, reply) => {
      const stream = openEventStream(request, reply);
      const onProgress = (p: Progress) => stream.send('progress', p);
      const onCleared = (keys: string[]) => stream.send('cleared', { keys });
      manager.events.on('progress', onProgress);
      manager.events.on('cleared', onCleared);
      stream.send('snapshot', await manager.list(100));
      await stream.closed;
      manager.events.off('progress', onProgress);
      manager.events.off('cleared', onCleared);
    },
  );

  app.get(
    '/downloads/:key',
    { schema: { summary: 'One download', params: KeyParams, response: { 200: ProgressSchema, 404: ErrorRef } } },
    async (request) => manager.progress(request.params.key),
  );

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    app.post(
      `/downloads/:key/${action}`,
      {
        onRequest: admin,
        schema: {
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} a download`,
          params: KeyParams,
          response: { 200: ProgressSchema, 404: ErrorRef },
        },
      },
      async (request) => manager[action](request.params.key),
    );
  }

  app.get(
    '/limits',
    { schema: { summary: 'The bandwidth cap on all downloads together', response: { 200: DownloadLimits } } },
    async () => ({ maxDownloadRate: manager.maxBytesPerSecond }),
  );
  app.put(
    '/limits',
    {
      onRequest: admin,
      schema: {
        summary: 'Change the bandwidth cap while downloads run (not kept: the Client keeps it in the config file)',
        body: DownloadLimits,
        response: { 200: DownloadLimits },
      },
    },
    async (request) => {
      manager.setMaxBytesPerSecond(request.body.maxDownloadRate);
      return { maxDownloadRate: manager.maxBytesPerSecond };
    },
  );

  app.delete(
    '/downloads',
    {
      onRequest: admin,
      schema: {
        summary: 'Forget every download that ended (done, failed, cancelled); saved files stay',
        response: { 200: Type.Object({ cleared: Type.Array(Key) }) },
      },
    },
    async () => ({ cleared: manager.clear() }),
  );

  app.get(
    '/dead-letters',
    {
      schema: {
        summary: 'Jobs that could not succeed, with the reason',
        response: {
          200: Type.Array(
            Type.Object({ body: Type.String(), reason: Type.String(), attempts: Type.Integer(), at: Type.Integer() }),
          ),
        },
      },
    },
    async () => queue.deadLetters(100),
  );
}
