/**
 * The query routing table File Management builds for Search (feature "qrp"), over a real SQLite
 * catalog: it may match every query the catalog answers (files by the full-text index, shared
 * folders by name) and every id a lookup finds, and it is rebuilt only when the shared names
 * change, including when another process changes them (Search running alone reads the catalog
 * File Management writes).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/files/adapters/fs/fs-blob-store.ts';
import { NodeLocalFiles } from '../../src/files/adapters/fs/node-local-files.ts';
import { SqliteCatalog } from '../../src/files/adapters/sqlite/sqlite-catalog.ts';
import { FileManager } from '../../src/files/domain/file-manager.ts';
import { tokenize } from '../../src/files/domain/terms.ts';
import { tempDir } from '../support/temp.ts';

const NAMES = [
  'Ubuntu-22.04 Désktop.iso',
  'Øresund bridge (night).jpg',
  'Straße_der_Lieder 03.flac',
  'ÉLAN vital — live at the Olympia 1978.mp3',
  'report_Q3_2024-final-FINAL.pdf',
  '夏の夜.txt',
];

/** A FileManager over the catalog in `dir` (a second one on the same folder is a second process's reader). */
async function managerIn(dir: string): Promise<{ manager: FileManager; catalog: SqliteCatalog }> {
  const catalog = new SqliteCatalog(join(dir, 'catalog.db'));
  const blobs = new FsBlobStore(dir);
  await blobs.recover();
  const manager = new FileManager(
    { catalog, blobs, local: new NodeLocalFiles() },
    { chunkSize: 64 * 1024, maxUploadBytes: 1 << 20 },
  );
  return { manager, catalog };
}

async function upload(manager: FileManager, name: string, content = name): Promise<string> {
  const { file } = await manager.upload(
    (async function* () {
      yield Buffer.from(content);
    })(),
    name,
  );
  return file.id;
}

describe('the route table of a catalog', () => {
  it('may match every query the catalog answers, and every id a lookup finds', async () => {
    const dir = tempDir();
    const { manager, catalog } = await managerIn(dir);
    const ids = [];
    for (const name of NAMES) ids.push(await upload(manager, name));
    const folder = join(dir, 'Trip Photos Åland 2024');
    mkdirSync(folder);
    writeFileSync(join(folder, 'beach.jpg'), 'sand');
    writeFileSync(join(folder, 'hôtel.jpg'), 'bed');
    const { collection, files } = await manager.share(folder);
    ids.push(collection!.id, ...files.map((f) => f.id));

    const table = manager.routeTable();
    // Every prefix of every token of every name, alone and beside the next token's: when the
    // catalog answers the query, the table must not rule it out.
    const names = [...NAMES, 'Trip Photos Åland 2024', 'beach.jpg', 'hôtel.jpg'];
    let answered = 0;
    for (const name of names) {
      const tokens = tokenize(name);
      tokens.forEach((token, i) => {
        for (let end = 1; end <= token.length; end += 1) {
          for (const terms of [[token.slice(0, end)], [token.slice(0, end), tokens[(i + 1) % tokens.length]!]]) {
            if (manager.match(terms, 100).length === 0) continue;
            answered += 1;
            expect(table.mayMatch(terms, ''), terms.join(' ')).toBe(true);
          }
        }
      });
    }
    expect(answered).toBeGreaterThan(200);
    expect(manager.match(['trip', 'aland'], 10)).toMatchObject([{ id: collection!.id, folder: { files: 2 } }]);
    for (const id of ids) {
      expect(manager.lookup(id)).not.toEqual([]);
      expect(table.mayMatch([], id)).toBe(true);
    }
    expect(table.mayMatch(['windows'], '')).toBe(false);
    catalog.close();
  });

  it('is rebuilt only when the shared names change, also when another process changes them', async () => {
    const dir = tempDir();
    const files = await managerIn(dir);
    const search = await managerIn(dir); // Search running alone: its own reader of the same catalog
    const zebra = await upload(files.manager, 'zebra crossing.mp4');
    const first = search.manager.routeTable();
    expect(first.mayMatch(['zebra'], '')).toBe(true);
    expect(search.manager.routeTable()).toBe(first);
    // Not a change of names: the same table.
    files.manager.countUploaded(zebra, 1000);
    expect(search.manager.routeTable()).toBe(first);

    await upload(files.manager, 'okapi.flac');
    const second = search.manager.routeTable();
    expect(second).not.toBe(first);
    expect(second.mayMatch(['okapi'], '')).toBe(true);
    expect(second.mayMatch(['zebra'], '')).toBe(true);

    await files.manager.unshare(zebra);
    const third = search.manager.routeTable();
    expect(third.mayMatch(['zebra'], '')).toBe(false);
    expect(third.mayMatch([], zebra)).toBe(false);
    expect(third.mayMatch(['okapi'], '')).toBe(true);
    search.catalog.close();
    files.catalog.close();
  });
});
