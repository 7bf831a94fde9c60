/**
 * `npm run bench [-- NAME...]`: runs the named benchmarks (all by default), each in this process
 * one after another, and prints what each measured. Benchmarks live beside this file as NAME.ts
 * and export `run(): Promise<void>`.
 */
import { readdirSync } from 'node:fs';

const available = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));

const wanted = process.argv.slice(2);
const unknown = wanted.filter((n) => !available.includes(n));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : available) {
  console.log(`\n## ${name}`);
  const module = (await import(`./${name}.ts`)) as { run(): Promise<void> };
  await module.run();
}
