/**
 * Signature checking for peer records: the shared Ed25519 operations under the names the Fetch
 * domain uses, and a memoizing verifier for simulations with many peers in one process.
 */
import { memorySigner, peerIdFromPublicKey, verifySignature, type Signer } from '../../shared/keys.ts';

/** What signs this peer's records. */
export type RecordSigner = Signer;

export { memorySigner };
export const peerIdOf = peerIdFromPublicKey;
export const verifyEd25519 = verifySignature;

/** Whether `signature` over `data` was made by the holder of `rawPublicKey`. */
export type SignatureVerifier = (rawPublicKey: Uint8Array, data: Uint8Array, signature: Uint8Array) => boolean;

/**
 * A verifier that remembers its last `capacity` answers. Verification is deterministic, so this is
 * safe; it lets many simulated peers in one process check each record once, not once per peer.
 */
export function memoizedVerifier(capacity = 100_000, inner: SignatureVerifier = verifyEd25519): SignatureVerifier {
  const answers = new Map<string, boolean>();
  return (rawPublicKey, data, signature) => {
    const key = `${Buffer.from(rawPublicKey).toString('hex')}|${Buffer.from(signature).toString('hex')}|${Buffer.from(data).toString('hex')}`;
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = inner(rawPublicKey, data, signature);
      if (answers.size >= capacity) answers.delete(answers.keys().next().value as string);
      answers.set(key, answer);
    }
    return answer;
  };
}
