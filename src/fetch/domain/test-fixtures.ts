/** Shared fixtures for the Fetch domain tests: peers with in-memory keys and sample records. */
import { memorySigner, type RecordSigner } from './keys.ts';
import { signRecord, type PeerRecord, type RecordFields } from './peer-record.ts';

export const NOW = 1_700_000_000_000;

export function fields(i: number, overrides: Partial<RecordFields> = {}): RecordFields {
  return {
    status: 'alive',
    addresses: { files: `127.0.0.${i}:7001`, search: `127.0.0.${i}:7002`, fetch: `127.0.0.${i}:7003` },
    protocol: 2,
    seq: NOW,
    issuedAt: NOW,
    ...overrides,
  };
}

export interface TestPeer {
  signer: RecordSigner;
  record(overrides?: Partial<RecordFields>): PeerRecord;
}

export function testPeer(i: number): TestPeer {
  const signer = memorySigner();
  return { signer, record: (overrides = {}) => signRecord(signer, fields(i, overrides)) };
}
