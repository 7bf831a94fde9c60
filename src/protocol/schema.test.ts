import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'node_modules/.bin');

describe('wire schema', () => {
  it('has generated code that matches proto/wire.proto (run the command in buf.gen.yaml if not)', async () => {
    const out = await mkdtemp(join(tmpdir(), 'peershare-gen-'));
    try {
      await promisify(execFile)(
        join(bin, 'buf'),
        ['generate', 'src/protocol/proto', '--template', 'src/protocol/buf.gen.yaml', '-o', out],
        {
          cwd: root,
          env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` },
        },
      );
      const fresh = await readFile(join(out, 'src/protocol/gen/wire_pb.ts'), 'utf8');
      const committed = await readFile(join(root, 'src/protocol/gen/wire_pb.ts'), 'utf8');
      expect(committed).toBe(fresh);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
