/**
 * Progress of a share while it hashes: how many bytes and files there are to hash, and how many
 * are done. Reports are cut by bytes, never by time, so they are the same on every run: one when
 * the share is planned (nothing done yet), one each time another step of bytes is hashed, and one
 * as each file ends — the last of them says every byte and every file is done.
 */

export interface ShareProgress {
  /** Files that need hashing (a file shared before and unchanged is not hashed again). */
  filesTotal: number;
  filesDone: number;
  /** Bytes of those files. */
  bytesTotal: number;
  bytesDone: number;
  /** The file being hashed (absolute path); absent in the first report. */
  path?: string;
}

/** Most reports of bytes within one share, so that a huge share does not flood its caller. */
const MAX_BYTE_REPORTS = 1000;

export class ShareProgressTracker {
  readonly #report: (p: ShareProgress) => void;
  readonly #step: number;
  readonly #progress: ShareProgress;
  #nextReportAt: number;

  /** `chunkSize` is the smallest step: a report never stands for less than one chunk hashed. */
  constructor(files: number, bytes: number, chunkSize: number, report: (p: ShareProgress) => void) {
    this.#report = report;
    this.#step = Math.max(chunkSize, Math.ceil(bytes / MAX_BYTE_REPORTS));
    this.#nextReportAt = this.#step;
    this.#progress = { filesTotal: files, filesDone: 0, bytesTotal: bytes, bytesDone: 0 };
    this.#report({ ...this.#progress });
  }

  /** `n` more bytes of the file at `path` were hashed. */
  hashed(path: string, n: number): void {
    this.#progress.bytesDone += n;
    this.#progress.path = path;
    if (this.#progress.bytesDone < this.#nextReportAt) return;
    this.#nextReportAt = (Math.floor(this.#progress.bytesDone / this.#step) + 1) * this.#step;
    this.#report({ ...this.#progress });
  }

  /** The file at `path` is hashed and shared. */
  fileDone(path: string): void {
    this.#progress.filesDone += 1;
    this.#progress.path = path;
    this.#report({ ...this.#progress });
  }
}
