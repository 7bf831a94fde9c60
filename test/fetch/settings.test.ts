/** The user settings of Fetch admission (src/shared/config.ts) default to what the Fetch domain owns. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FETCH_CONFIG } from '../../src/fetch/domain/config.ts';
import { fetchTuning } from '../../src/peer/build-fetch.ts';
import { loadConfig } from '../../src/shared/config.ts';

describe('Fetch admission settings', () => {
  it('default to DEFAULT_FETCH_CONFIG, and a flag overrides one', () => {
    const config = loadConfig({ flags: {} });
    const tuning = fetchTuning(config);
    expect(Object.keys(tuning).length).toBe(10);
    for (const [name, value] of Object.entries(tuning))
      expect(value, name).toBe(DEFAULT_FETCH_CONFIG[name as keyof typeof DEFAULT_FETCH_CONFIG]);
    expect(fetchTuning(loadConfig({ flags: { fetchVerifyPerRound: '4' } })).verifyPerRound).toBe(4);
    expect(fetchTuning(loadConfig({ flags: { fetchMaxRecordsPerAnswer: '200' } })).maxRecordsPerAnswer).toBe(200);
  });

  it('refuses a records-per-answer bound outside 1 to 1,000,000', () => {
    for (const bad of ['0', '-5', '1000001', 'many'])
      expect(() => loadConfig({ flags: { fetchMaxRecordsPerAnswer: bad } }), bad).toThrow(
        /fetch-max-records-per-answer|fetchMaxRecordsPerAnswer/,
      );
  });
});
