/**
 * vitest's globalSetup: the folder in which the test files of one run share the packed checkout
 * and its release (packed.ts, sharedRelease), made empty when the run starts and removed when it
 * ends: nothing of an earlier run, or of other sources, is taken for this one.
 */
import type { TestProject } from 'vitest/node';
import { tempDir } from './temp.ts';
import { Teardown } from './teardown.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where sharedRelease (packed.ts) makes the package and release of this run. */
    shipCache: string;
  }
}

export default function setup(project: TestProject): () => Promise<void> {
  const teardown = new Teardown();
  project.provide('shipCache', tempDir('peershare-ship-cache-', teardown.defer));
  return () => teardown.run();
}
