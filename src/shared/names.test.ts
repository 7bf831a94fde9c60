import { describe, expect, it } from 'vitest';
import { PeershareError } from './errors.ts';
import { validateFileName } from './names.ts';

function codeOf(name: string): string | undefined {
  try {
    validateFileName(name);
    return undefined;
  } catch (err) {
    return (err as PeershareError).code;
  }
}

describe('file names', () => {
  it.each(['report.pdf', 'Élan vital – notes.txt', '.bashrc', 'a..b', 'ünïcödé 名前.mkv', 'x'.repeat(255)])('accepts %j', (name) => {
    expect(validateFileName(name)).toBe(name);
  });

  it.each([
    ['a dot-dot traversal', '../../x'],
    ['an absolute path', '/etc/passwd'],
    ['a nested traversal', 'a/../../b'],
    ['a backslash traversal', '..\\x'],
    ['a percent-encoded traversal', '%2e%2e%2f'],
    ['a double-encoded traversal', '%252e%252e%252fx'],
    ['a NUL byte', 'a\u0000b'],
    ['a control character', 'a\nb'],
    ['dot', '.'],
    ['dot-dot', '..'],
    ['4 KB of name', 'a'.repeat(4096)],
    ['256 bytes of multi-byte name', 'é'.repeat(128)],
    ['a Windows device name', 'CON'],
    ['a Windows device name with extension', 'aux.txt'],
    ['a numbered device name', 'com1.log'],
    ['a trailing dot', 'name.'],
    ['a trailing space', 'name '],
    ['a reserved character', 'a:b'],
    ['an empty name', ''],
    ['a lone surrogate', 'a\ud800b'],
  ])('rejects %s with INVALID_NAME', (_label, name) => {
    expect(codeOf(name)).toBe('INVALID_NAME');
  });
});
