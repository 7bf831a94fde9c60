/**
 * Watches this peer's own shared-file list through the SharedFileFeed and tells SyncRounds when it
 * changed, so that its record says so (filesVersion, see sync-rounds.ts): the service polls it
 * before every round, and so does the simulator, so both run the same rule. The first poll only
 * takes the feed's cursor (the list as it stands at start is no news: peers that never asked for
 * it ask anyway); each later one asks for the changes since the last cursor.
 */
import type { SharedFileFeed } from './ports.ts';

export class ShareWatch {
  #cursor: string | undefined;
  #started = false;

  constructor(
    private readonly feed: SharedFileFeed,
    private readonly changed: () => void,
  ) {}

  /** Ask the feed what changed since the last poll; report a change (an unknown cursor's reset counts as one). */
  async poll(): Promise<void> {
    const delta = await this.feed.changesSince(this.#cursor);
    const first = !this.#started;
    this.#started = true;
    this.#cursor = delta.cursor;
    if (!first && (delta.reset || delta.added.length > 0 || delta.removed.length > 0)) this.changed();
  }
}
