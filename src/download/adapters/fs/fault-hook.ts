/**
 * A test hook, and nothing else: with PEERSHARE_FAULT=finalize:STEP in its environment, a peer
 * kills itself (SIGKILL, no clean-up) when finishing a download reaches STEP, so a test can
 * restart it and check that the download still ends with one verified copy. Steps, in order:
 * before-link, after-link, before-unlink, after-unlink (see FsDownloadFiles). Unset: no effect.
 */
export type FinalizeStep = 'before-link' | 'after-link' | 'before-unlink' | 'after-unlink';

const FAULT = process.env.PEERSHARE_FAULT;

export function faultPoint(step: FinalizeStep): void {
  if (FAULT === `finalize:${step}`) process.kill(process.pid, 'SIGKILL');
}
