import { describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { RouteTableSchema } from '../../../protocol/gen/wire_pb.ts';
import { RouteTable } from '../../../protocol/route-table.ts';
import { LinkRouteTables } from './route-tables.ts';

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

    // The caller changes its own table in place: the patch is still against what was sent.
    first.addTokens(['debian']);
    const patch = ours.outgoing(1, first);
    expect(patch).toMatchObject({ level: 1, patch: true });
    ours.recordSent(1, first);
    const received = theirs.incoming(crossed(patch));
    expect(received.equals(first)).toBe(true);
    expect(received.mayMatch(['deb'], '')).toBe(true);
    expect(ours.outgoing(1, first)).toBeUndefined();
    // Levels are independent: level 0 has had nothing yet, so it goes whole.
    expect(ours.outgoing(0, first)).toMatchObject({ level: 0, patch: false });
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
});
