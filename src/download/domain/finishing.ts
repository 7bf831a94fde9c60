/**
 * The last steps of a download, recorded one by one so that a crash at any of them ends, after a
 * restart, with exactly one verified copy: the record turns `finalizing` (with the manifest)
 * before any name on disk changes, each final name is recorded before it is tried, then the file
 * is linked into place, shared, and the partial file's name dropped; only then is it `done`.
 * After a crash a finalizing download is finished from the disk alone, its bytes hashed again
 * before they are shared.
 */
import { chunkBounds, verifyChunk, type Manifest } from '../../shared/content.ts';
import type {
  DownloadFiles,
  DownloadRecord,
  DownloadStore,
  LocalRegistry,
  PartialFile,
  ReadableFile,
} from '../ports.ts';
import { Bitfield } from './bitfield.ts';

export interface FinishingPorts {
  store: DownloadStore;
  files: DownloadFiles;
  registry: LocalRegistry;
}

export interface FinishingHooks {
  now(): number;
  /** Told of every event worth a log line ('done', 'finish-lost'). */
  emit(event: Record<string, unknown>): void;
}

/** Told of each state the record moves through (for live progress). */
export type OnRecord = (record: DownloadRecord) => void;

export class Finishing {
  constructor(
    private readonly ports: FinishingPorts,
    private readonly hooks: FinishingHooks,
  ) {}

  /** Record that every chunk of `key` is here and verified: `finalizing`, before any name on disk changes. */
  begin(key: string, manifest: Manifest, onRecord: OnRecord): DownloadRecord {
    const all = everyChunk(manifest.chunks.length);
    const record: DownloadRecord = {
      ...this.ports.store.get(key)!,
      state: 'finalizing',
      manifest,
      verified: all,
      durable: all,
      bytesDone: manifest.size,
      updatedAt: this.hooks.now(),
    };
    delete record.finalPath;
    delete record.error;
    this.ports.store.put(record);
    onRecord(record);
    return record;
  }

  /** From `finalizing` to `done`: the partial file gets its final name, is shared, and loses its own name. */
  async finish(finalizing: DownloadRecord, partial: PartialFile, onRecord: OnRecord): Promise<void> {
    let record = finalizing;
    const manifest = record.manifest!;
    const finalPath = await this.ports.files.place(partial, record.outDir, record.name, record.finalPath, (path) => {
      record = { ...record, finalPath: path, updatedAt: this.hooks.now() };
      this.ports.store.put(record);
    });
    await this.ports.registry.register(finalPath, { ...manifest, name: record.name });
    await this.ports.files.dropPartial(partial);
    this.#done(record, finalPath, onRecord);
  }

  /**
   * Finish a download a crash left `finalizing`, from the disk alone: the partial file (maybe also
   * linked already), or else the claimed final file, hashed again in full before it is shared.
   * False when neither holds the file: the record is reset and the file is downloaded again.
   */
  async afterCrash(record: DownloadRecord, onRecord: OnRecord): Promise<boolean> {
    const manifest = record.manifest;
    const partial = manifest && (await this.ports.files.findPartial(record.outDir, record.name, record.key));
    if (manifest && partial) {
      try {
        if (await intact(partial, manifest)) {
          await this.finish(record, partial, onRecord);
          return true;
        }
      } finally {
        await partial.close();
      }
    } else if (manifest && record.finalPath) {
      const placed = await this.ports.files.openFinished(record.finalPath);
      const whole = placed !== undefined && (await intact(placed, manifest).finally(() => placed.close()));
      if (whole) {
        await this.ports.registry.register(record.finalPath, { ...manifest, name: record.name });
        this.#done(record, record.finalPath, onRecord);
        return true;
      }
    }
    this.hooks.emit({
      type: 'finish-lost',
      key: record.key,
      reason: 'no intact copy left after a crash while finishing; downloading again',
    });
    const reset: DownloadRecord = { ...record, state: 'running', bytesDone: 0, updatedAt: this.hooks.now() };
    for (const field of ['manifest', 'finalPath', 'verified', 'durable', 'error'] as const) delete reset[field];
    await this.ports.files.removePartial(record.outDir, record.name, record.key); // a partial that is not intact
    this.ports.store.put(reset);
    return false;
  }

  #done(record: DownloadRecord, finalPath: string, onRecord: OnRecord): void {
    const done: DownloadRecord = {
      ...record,
      state: 'done',
      finalPath,
      bytesDone: record.size ?? record.bytesDone,
      updatedAt: this.hooks.now(),
    };
    delete done.error;
    // The manifest was kept only to finish after a crash; a done record is listed often, and a
    // big file's manifest is megabytes of chunk hashes.
    delete done.manifest;
    this.ports.store.put(done);
    onRecord(done);
    this.hooks.emit({ type: 'done', key: record.key, finalPath });
  }
}

/** Every chunk of `file` matches the manifest (read back from the disk). */
async function intact(file: ReadableFile, manifest: Manifest): Promise<boolean> {
  for (let i = 0; i < manifest.chunks.length; i++) {
    const { start, end } = chunkBounds(i, manifest.size, manifest.chunkSize);
    if (!verifyChunk(manifest, i, await file.read(start, end - start))) return false;
  }
  return true;
}

function everyChunk(count: number): Buffer {
  const bits = new Bitfield(count);
  for (let i = 0; i < count; i++) bits.add(i);
  return bits.toBytes();
}
