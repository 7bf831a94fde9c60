/**
 * What a shared folder's collection is made of (docs/PROTOCOL.md §11): the files the share
 * shared, by their path under the folder. A file whose path the format refuses (a folder name
 * the name rules refuse, or too deep) is still shared on its own, as before collections, but left
 * out of the collection, saying why; a folder whose collection cannot be made at all (every
 * file left out, too many, its own name refused) is shared file by file and named in `skipped`;
 * a folder with no file to share has no collection, and nothing is said.
 */
import {
  buildCollection,
  collectionPathProblem,
  type Collection,
  type CollectionEntry,
} from '../../shared/collection.ts';
import { PeershareError } from '../../shared/errors.ts';
import { validateFileName } from '../../shared/names.ts';

/** A file the share put in the catalog, with its path under the folder. */
export interface FolderFile {
  id: string;
  path: string;
  relative: string;
  size: number;
}

export interface LeftOut {
  path: string;
  code: string;
  reason: string;
}

export type FolderCollection =
  | { kind: 'none' }
  | { kind: 'made'; folder: string; name: string; collection: Collection; omitted: LeftOut[] }
  | { kind: 'refused'; folder: string; code: string; reason: string };

/** The folder's absolute path, from any of its files (`path` ends with '/' + `relative`). */
function folderOf(file: FolderFile): string {
  return file.path.slice(0, file.path.length - file.relative.length - 1);
}

/** The collection of a folder's shared files (none for a folder with no file to share). */
export function folderCollection(files: readonly FolderFile[]): FolderCollection {
  if (files.length === 0) return { kind: 'none' };
  const root = folderOf(files[0]!);
  const name = root.slice(root.lastIndexOf('/') + 1);
  const entries: CollectionEntry[] = [];
  const omitted: LeftOut[] = [];
  for (const file of files) {
    const problem = collectionPathProblem(file.relative);
    if (problem)
      omitted.push({
        path: file.path,
        code: 'INVALID_COLLECTION',
        reason: `left out of the folder's collection: ${problem}`,
      });
    else entries.push({ path: file.relative, size: file.size, fileId: file.id });
  }
  try {
    validateFileName(name);
    return { kind: 'made', folder: root, name, collection: buildCollection(entries), omitted };
  } catch (err) {
    if (!(err instanceof PeershareError)) throw err;
    return {
      kind: 'refused',
      folder: root,
      code: err.code,
      reason: `its files are shared one by one, not as a collection: ${err.message}`,
    };
  }
}
