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
  it('names the invisible character it refuses', () => {
    expect(() => validateFileName('invoice\u202Etxt.exe')).toThrow(/U\+202E/);
  });

  it.each([
    'report.pdf',
    'Élan vital – notes.txt',
    '.bashrc',
    'a..b',
    'ünïcödé 名前.mkv',
    'x'.repeat(255),
    'می\u200cخواهم.txt',
    'family 👨\u200d👩\u200d👧.png',
  ])('accepts %j', (name) => {
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
    ['a right-to-left override posing as .txt', 'invoice\u202Etxt.exe'],
    ['a left-to-right override', 'a\u202Db.txt'],
    ['a bidi embedding', 'a\u202Ab.txt'],
    ['a pop directional formatting', 'a\u202Cb.txt'],
    ['a right-to-left isolate', 'a\u2067b.txt'],
    ['a left-to-right isolate', 'a\u2066b.txt'],
    ['a first-strong isolate', 'a\u2068b.txt'],
    ['a pop directional isolate', 'a\u2069b.txt'],
    ['a left-to-right mark', 'a\u200Eb.txt'],
    ['a right-to-left mark', 'a\u200Fb.txt'],
    ['an Arabic letter mark', 'a\u061Cb.txt'],
    ['a zero-width space', 'report\u200B.pdf'],
    ['a word joiner', 'a\u2060b.txt'],
    ['a byte order mark', '\uFEFFreport.pdf'],
    ['a soft hyphen', 'a\u00ADb.txt'],
    ['a C1 control (NEL)', 'a\u0085b.txt'],
    ['a C1 control (CSI)', 'a\u009Bb.txt'],
    ['DEL', 'a\u007Fb.txt'],
    ['a line separator', 'a\u2028b.txt'],
    ['a paragraph separator', 'a\u2029b.txt'],
    ['an invisible tag character', 'a\u{E0041}b.txt'],
    ['a percent-encoded right-to-left override', 'invoice%E2%80%AEtxt.exe'],
  ])('rejects %s with INVALID_NAME', (_label, name) => {
    expect(codeOf(name)).toBe('INVALID_NAME');
  });
});
