/**
 * The canonical bytes a peer signs (peer records, pushes): a magic string naming what is signed
 * and an encoding version first, so bytes signed for one purpose never verify as another; then
 * the fields in a fixed order, strings and byte strings behind a 2-byte big-endian length,
 * integers fixed-width big-endian. A signature so never depends on how a serializer orders or
 * spells fields. Sign and verify with shared/keys.ts.
 */
export class SigningBytes {
  private readonly parts: Buffer[];

  /** `magic`: what is signed, e.g. "peershare/peer-record" (a NUL ends it on the wire). */
  constructor(magic: string, version: number) {
    this.parts = [Buffer.from(`${magic}\0`, 'utf8'), Buffer.from([version])];
  }

  u8(value: number): this {
    this.parts.push(Buffer.from([value]));
    return this;
  }

  u16(value: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(value);
    this.parts.push(b);
    return this;
  }

  /** A non-negative safe integer as 8 bytes. */
  u64(value: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(value));
    this.parts.push(b);
    return this;
  }

  /** UTF-8 text behind its 2-byte length. */
  text(value: string): this {
    return this.bytes(Buffer.from(value, 'utf8'));
  }

  /** Bytes behind their 2-byte length. */
  bytes(value: Uint8Array): this {
    this.u16(value.length);
    this.parts.push(Buffer.from(value));
    return this;
  }

  /** Bytes of a fixed width (a raw public key), no length. */
  fixed(value: Uint8Array): this {
    this.parts.push(Buffer.from(value));
    return this;
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}
