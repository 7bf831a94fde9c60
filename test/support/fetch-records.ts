/** Shared fixtures for the Fetch domain tests: peers with in-memory keys and sample records. */
import { memorySigner, type RecordSigner } from '../../src/fetch/domain/keys.ts';
import { signRecord, type PeerRecord, type RecordFields } from '../../src/fetch/domain/peer-record.ts';

export const NOW = 1_700_000_000_000;

/** Peer i's host: 127.0.0.i up to 254, then on through 127.0.1.x, 127.0.2.x... */
const host = (i: number) => `127.0.${Math.floor(i / 255)}.${i % 255}`;

export function fields(i: number, overrides: Partial<RecordFields> = {}): RecordFields {
  return {
    status: 'alive',
    addresses: { files: `${host(i)}:7001`, search: `${host(i)}:7002`, fetch: `${host(i)}:7003` },
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
