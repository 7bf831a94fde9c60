/**
 * Clean-up for fixtures that outlive one test: a network a whole file shares, started in
 * beforeAll. Helpers take a `defer` that registers a clean-up step; inside a test it is
 * onTestFinished (the default), for a file's fixture it is a Teardown's, run by its afterAll.
 * Steps run last registered first, like onTestFinished, and every step runs even if one fails.
 */
import { onTestFinished } from 'vitest';

export type Defer = (step: () => unknown) => void;

export const perTest: Defer = (step) => onTestFinished(async () => void (await step()));

export class Teardown {
  readonly #steps: Array<() => unknown> = [];

  readonly defer: Defer = (step) => void this.#steps.push(step);

  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'clean-up failed');
  }
}
