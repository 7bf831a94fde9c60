import { describe, expect, it } from 'vitest';
import type { FileDelta } from './domain/messages.ts';
import { ShareWatch } from './share-watch.ts';

/** A feed whose list is `files`, cursor "v<version>"; an unknown cursor gets the whole list (reset). */
function feed() {
  const state = { version: 0, files: [] as string[], asked: [] as Array<string | undefined> };
  const changesSince = (cursor: string | undefined): Promise<FileDelta> => {
    state.asked.push(cursor);
    const since = cursor?.startsWith('v') ? Number(cursor.slice(1)) : NaN;
    const all = state.files.map((id) => ({ id, name: `${id}.bin`, size: 1 }));
    const known = Number.isInteger(since) && since <= state.version;
    return Promise.resolve({
      cursor: `v${state.version}`,
      reset: !known,
      added: known ? all.slice(since) : all,
      removed: [],
    });
  };
  return { state, changesSince };
}

describe('share watch', () => {
  it('takes the list as it stands at start as no news, then reports each poll that finds a change, asking from the last cursor', async () => {
    const f = feed();
    f.state.files.push('a');
    f.state.version = 1;
    let changes = 0;
    const watch = new ShareWatch(f, () => changes++);
    await watch.poll();
    await watch.poll();
    expect(changes).toBe(0);
    f.state.files.push('b', 'c');
    f.state.version = 3;
    await watch.poll();
    expect(changes).toBe(1); // two shares, one report
    await watch.poll();
    expect(changes).toBe(1);
    expect(f.state.asked).toEqual([undefined, 'v1', 'v1', 'v3']);
  });

  it('reports a reset (the feed no longer knows the cursor: its list may have changed)', async () => {
    const f = feed();
    let changes = 0;
    const watch = new ShareWatch(f, () => changes++);
    await watch.poll();
    f.state.version = -1; // the feed was rebuilt: "v0" is now unknown
    await watch.poll();
    expect(changes).toBe(1);
  });
});
