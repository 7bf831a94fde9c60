import { describe, expect, it } from 'vitest';
import { filesHostPort } from './peer-address.ts';

describe('filesHostPort', () => {
  it('keeps host:port, reads the base URL an earlier release sent as its host:port, and refuses the rest', () => {
    expect(filesHostPort('127.0.0.2:7871')).toBe('127.0.0.2:7871');
    expect(filesHostPort('[fd00::2]:7871')).toBe('[fd00::2]:7871');
    expect(filesHostPort('http://127.0.0.2:7871')).toBe('127.0.0.2:7871');
    expect(filesHostPort('http://127.0.0.2:7871/')).toBe('127.0.0.2:7871');
    expect(filesHostPort('not an address')).toBeUndefined();
    expect(filesHostPort('http://')).toBeUndefined();
  });
});
