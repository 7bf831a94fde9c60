import { describe, expect, it } from 'vitest';
import { MAX_COLLECTION_ENTRIES } from '../../shared/collection.ts';
import { folderCollection, type FolderFile } from './folder-collection.ts';

const ID = '1'.repeat(64);
const file = (folder: string, relative: string): FolderFile => ({
  id: ID,
  path: `${folder}/${relative}`,
  relative,
  size: 1,
});

describe('a folder as a collection', () => {
  it('is named after the folder the files are under, and lists them by relative path', () => {
    const made = folderCollection([file('/home/u/My Album', 'b/c.txt'), file('/home/u/My Album', 'a.txt')]);
    expect(made).toMatchObject({ kind: 'made', folder: '/home/u/My Album', name: 'My Album', omitted: [] });
    expect(made.kind === 'made' && made.collection.entries.map((e) => e.path)).toEqual(['a.txt', 'b/c.txt']);
  });

  it('leaves out a file whose path the format refuses, saying why', () => {
    const deep = Array.from({ length: 17 }, (_, i) => `d${i}`).join('/');
    const made = folderCollection([file('/m', 'ok.txt'), file('/m', deep), file('/m', 'aux/x.txt')]);
    expect(made).toMatchObject({
      kind: 'made',
      omitted: [
        { path: `/m/${deep}`, code: 'INVALID_COLLECTION', reason: expect.stringMatching(/17 segments deep/) },
        { path: '/m/aux/x.txt', code: 'INVALID_COLLECTION', reason: expect.stringMatching(/reserved device name/) },
      ],
    });
  });

  it('is refused, saying why, when too many files or a folder name the rules refuse; none for no files', () => {
    const many = Array.from({ length: MAX_COLLECTION_ENTRIES + 1 }, (_, i) => file('/big', `f${i}`));
    expect(folderCollection(many)).toMatchObject({
      kind: 'refused',
      folder: '/big',
      code: 'INVALID_COLLECTION',
      reason: expect.stringMatching(/shared one by one.*more than 10000/),
    });
    expect(folderCollection([file('/x/trailing.', 'a.txt')])).toMatchObject({ kind: 'refused', code: 'INVALID_NAME' });
    expect(folderCollection([file('/m', 'con/a.txt')])).toMatchObject({
      kind: 'refused',
      code: 'INVALID_COLLECTION',
      reason: expect.stringMatching(/no entries/),
    });
    expect(folderCollection([])).toEqual({ kind: 'none' });
  });
});
