/**
 * A reporter that prints a line when a test file starts. The default reporter prints a file only
 * once it ends, so when a run stops making progress its log names nothing; with these lines (on in
 * CI) the file that started and never ended is the one to look at.
 */
import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export default class StartReporter implements Reporter {
  onTestModuleStart(module: TestModule): void {
    process.stdout.write(
      `▶ started ${relative(process.cwd(), module.moduleId)} (${new Date().toISOString().slice(11, 19)})\n`,
    );
  }
}
