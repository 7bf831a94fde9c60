import { describe, expect, it } from 'vitest';
import { actionsFor, ago, fraction, hopsLabel, percentLabel, plural, progressDetail } from './format.ts';

const progress = (over: Partial<Parameters<typeof fraction>[0]> = {}) => ({
  state: 'running',
  bytesDone: 0,
  rate: 0,
  sources: [],
  ...over,
});

describe('progress as the UI shows it', () => {
  it('is a fraction of the size, clamped, and whole once done', () => {
    expect(fraction(progress({ bytesDone: 512, size: 2048 }))).toBe(0.25);
    expect(fraction(progress({ bytesDone: 4096, size: 2048 }))).toBe(1);
    expect(fraction(progress({ bytesDone: 100 }))).toBe(0);
    expect(fraction(progress({ state: 'done', bytesDone: 0, size: 0 }))).toBe(1);
    expect(fraction(progress({ state: 'done', bytesDone: 7 }))).toBe(1);
  });

  it('labels percent as the command does', () => {
    expect(percentLabel(progress({ bytesDone: 999, size: 1000 }))).toBe('99%');
    expect(percentLabel(progress({ state: 'done', bytesDone: 1000, size: 1000 }))).toBe('100%');
  });

  it('tells rate, time left and sources only while running', () => {
    const running = progress({
      bytesDone: 1024 * 1024,
      size: 3 * 1024 * 1024,
      rate: 512 * 1024,
      etaSeconds: 4,
      sources: ['a', 'b'],
    });
    expect(progressDetail(running)).toBe('1.0 MiB of 3.0 MiB · 512 KiB/s · 4s left · 2 sources');
    expect(progressDetail({ ...running, state: 'paused' })).toBe('1.0 MiB of 3.0 MiB');
    expect(progressDetail(progress({ bytesDone: 10, sources: ['a'] }))).toBe('10 B · 0 B/s · 1 source');
  });

  it('offers the actions that fit the state', () => {
    expect(actionsFor('running')).toEqual(['pause', 'cancel']);
    expect(actionsFor('failed')).toEqual(['resume', 'cancel']);
    expect(actionsFor('done')).toEqual([]);
    expect(actionsFor('cancelled')).toEqual([]);
  });
});

describe('times, hops and counts', () => {
  it('says how long ago', () => {
    const now = 1_000_000_000;
    expect(ago(now - 1000, now)).toBe('just now');
    expect(ago(now - 42_000, now)).toBe('42 s ago');
    expect(ago(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(ago(now - 3 * 3_600_000, now)).toBe('3 h ago');
    expect(ago(now - 50 * 3_600_000, now)).toBe('2 d ago');
    expect(ago(now + 5000, now)).toBe('just now');
  });

  it('names hops and plurals', () => {
    expect([0, 1, 2].map(hopsLabel)).toEqual(['this peer', '1 hop', '2 hops']);
    expect(plural(1, 'peer')).toBe('1 peer');
    expect(plural(3, 'match', 'matches')).toBe('3 matches');
  });
});
