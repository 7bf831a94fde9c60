/**
 * The folder downloads started from the UI are saved into, as `--out` does for `peershare get`:
 * empty for the peer's own downloads folder. Kept in this browser (localStorage) between visits.
 */
import { useState } from 'preact/hooks';

const KEY = 'peershare.downloadFolder';

/** Why `folder` cannot be used, or undefined when it can (empty: the peer's downloads folder). */
export function folderProblem(folder: string): string | undefined {
  const f = folder.trim();
  if (f === '') return undefined;
  if (!f.startsWith('/')) return "give the whole path of a folder on the peer's machine, starting with /";
  if (f.length > 4096) return 'that path is too long';
  return undefined;
}

/** The `outDir` of a download request for `folder`: nothing for the default folder or a path that is not usable. */
export function outDirOf(folder: string): { outDir?: string } {
  const f = folder.trim();
  return f !== '' && folderProblem(f) === undefined ? { outDir: f } : {};
}

function stored(): string {
  try {
    return globalThis.localStorage?.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

export function useDownloadFolder(): [string, (folder: string) => void] {
  const [folder, setFolder] = useState(stored);
  const set = (next: string) => {
    setFolder(next);
    try {
      globalThis.localStorage?.setItem(KEY, next);
    } catch {
      // private mode or storage refused: kept for this visit only
    }
  };
  return [folder, set];
}
