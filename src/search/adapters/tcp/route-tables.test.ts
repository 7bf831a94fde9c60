import { describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { RouteTableSchema } from '../../../protocol/gen/wire_pb.ts';
import { RouteTable } from '../../../protocol/route-table.ts';
import { LinkRouteTables, RouteTableEncodings } from './route-tables.ts';

function tableOf(...tokens: string[]): RouteTable {
  const table = RouteTable.empty(13);
  table.addTokens(tokens);
  return table;
}

/** What a message of ours looks like once it has crossed the link. */
function crossed(message: ReturnType<LinkRouteTables['outgoing']>) {
  return create(RouteTableSchema, message);
}

describe('LinkRouteTables', () => {
  it('sends a level whole first, then as a patch the peer applies to what it received, and nothing when unchanged', () => {
    const ours = new LinkRouteTables();
    const theirs = new LinkRouteTables();
    const first = tableOf('ubuntu');
    const whole = ours.outgoing(1, first);
    expect(whole).toMatchObject({ level: 1, bits: 2 ** 13, patch: false });
    ours.recordSent(1, first);
    expect(theirs.incoming(crossed(whole)).equals(first)).toBe(true);

    const second = tableOf('ubuntu', 'debian');
    const patch = ours.outgoing(1, second);
    expect(patch).toMatchObject({ level: 1, patch: true });
    ours.recordSent(1, second);
    const received = theirs.incoming(crossed(patch));
    expect(received.equals(second)).toBe(true);
    expect(received.mayMatch(['deb'], '')).toBe(true);
    expect(ours.outgoing(1, second)).toBeUndefined();
    expect(ours.outgoing(1, tableOf('ubuntu', 'debian'))).toBeUndefined();
    // Levels are independent: level 0 has had nothing yet, so it goes whole.
    expect(ours.outgoing(0, second)).toMatchObject({ level: 0, patch: false });
  });

  it('refuses a patch with no table before it, and data that does not inflate to the table', () => {
    const ours = new LinkRouteTables();
    const table = tableOf('x');
    ours.recordSent(2, table);
    const patch = ours.outgoing(2, tableOf('y'));
    expect(() => new LinkRouteTables().incoming(crossed(patch))).toThrow(RangeError);
    const garbage = crossed({ level: 0, bits: 2 ** 13, patch: false, data: new Uint8Array([1, 2, 3]) });
    expect(() => new LinkRouteTables().incoming(garbage)).toThrow(RangeError);
  });

  it('links that share encodings deflate a table once per table sent before it, and each decodes to the table', () => {
    const encodings = new RouteTableEncodings();
    const [a, b, c] = [new LinkRouteTables(encodings), new LinkRouteTables(encodings), new LinkRouteTables(encodings)];
    const before = tableOf('ubuntu');
    const after = tableOf('ubuntu', 'debian');
    a.recordSent(2, before);
    b.recordSent(2, before);
    const toA = a.outgoing(2, after);
    const toB = b.outgoing(2, after);
    const toC = c.outgoing(2, after);
    // The same patch for the links that had the same table, the whole table for the one that had none.
    expect(toB?.data).toBe(toA?.data);
    expect(toA).toMatchObject({ patch: true });
    expect(toC).toMatchObject({ patch: false });
    expect(toC?.data).not.toBe(toA?.data);
    const received = new LinkRouteTables();
    received.incoming(crossed(new LinkRouteTables().outgoing(2, before)));
    expect(received.incoming(crossed(toB)).equals(after)).toBe(true);
    expect(new LinkRouteTables().incoming(crossed(toC)).equals(after)).toBe(true);
  });
});
