#!/usr/bin/env node
// The `peershare` command: runs the TypeScript sources through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../src/client/cli/main.ts');
