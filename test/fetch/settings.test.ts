/** The user settings of Fetch admission (src/shared/config.ts) default to what the Fetch domain owns. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FETCH_CONFIG } from '../../src/fetch/domain/config.ts';
import { loadConfig } from '../../src/shared/config.ts';

describe('Fetch admission settings', () => {
  it('default to DEFAULT_FETCH_CONFIG, and a flag overrides one', () => {
    const config = loadConfig({ flags: {} });
    expect({
      maxPeers: config.fetchMaxPeers,
      maxUnverified: config.fetchMaxUnverified,
      newPerAddressPerMinute: config.fetchNewPerAddress,
      newPerSubnetPerMinute: config.fetchNewPerSubnet,
      subnetBitsV4: config.fetchSubnetV4,
      subnetBitsV6: config.fetchSubnetV6,
      verifyPerRound: config.fetchVerifyPerRound,
      verifyAttempts: config.fetchVerifyAttempts,
      verifyBackoffRounds: config.fetchVerifyBackoff,
    }).toEqual({
      maxPeers: DEFAULT_FETCH_CONFIG.maxPeers,
      maxUnverified: DEFAULT_FETCH_CONFIG.maxUnverified,
      newPerAddressPerMinute: DEFAULT_FETCH_CONFIG.newPerAddressPerMinute,
      newPerSubnetPerMinute: DEFAULT_FETCH_CONFIG.newPerSubnetPerMinute,
      subnetBitsV4: DEFAULT_FETCH_CONFIG.subnetBitsV4,
      subnetBitsV6: DEFAULT_FETCH_CONFIG.subnetBitsV6,
      verifyPerRound: DEFAULT_FETCH_CONFIG.verifyPerRound,
      verifyAttempts: DEFAULT_FETCH_CONFIG.verifyAttempts,
      verifyBackoffRounds: DEFAULT_FETCH_CONFIG.verifyBackoffRounds,
    });
    expect(loadConfig({ flags: { fetchVerifyPerRound: '4' } }).fetchVerifyPerRound).toBe(4);
  });
});
