/**
 * An in-memory SharedFileFeed: the shared-file changes of one peer, as the Files service would
 * report them. Cursors are "epoch:version"; an unknown cursor gets the whole list (reset).
 */
import type { FileDelta, FileEntry } from '../../src/fetch/domain/messages.ts';
import type { SharedFileFeed } from '../../src/fetch/ports.ts';

export class MemoryFileFeed implements SharedFileFeed {
  private readonly files = new Map<string, FileEntry>();
  /** Version at which each id was last added or removed (removed ones kept as `undefined` entries). */
  private readonly changedAt = new Map<string, number>();
  private version = 0;
  private readonly epoch = Math.random().toString(36).slice(2, 8);

  add(file: FileEntry): void {
    this.files.set(file.id, file);
    this.changedAt.set(file.id, ++this.version);
  }

  remove(id: string): void {
    this.files.delete(id);
    this.changedAt.set(id, ++this.version);
  }

  async changesSince(cursor: string | undefined): Promise<FileDelta> {
    const [epoch, v] = (cursor ?? '').split(':');
    const since = Number(v);
    const now = `${this.epoch}:${this.version}`;
    if (epoch !== this.epoch || !Number.isSafeInteger(since) || since > this.version) {
      return { cursor: now, reset: true, added: [...this.files.values()], removed: [] };
    }
    const added: FileEntry[] = [];
    const removed: string[] = [];
    for (const [id, at] of this.changedAt) {
      if (at <= since) continue;
      const file = this.files.get(id);
      if (file) added.push(file);
      else removed.push(id);
    }
    return { cursor: now, reset: false, added, removed };
  }
}
