/**
 * The query routing tables one link has carried (feature "qrp", docs/PROTOCOL.md §12): per level,
 * the table sent last, which the next one is sent as a patch against, and the table received
 * last, which the peer's next patch applies to. At most MAX_ROUTE_LEVELS each way (the schema
 * refuses a higher level before it gets here), dropped with the link.
 *
 * A table handed to a link is never changed afterwards (QueryRouting makes a new one for each
 * change; File Management's own table is rebuilt, not edited), so a link keeps the table itself as
 * what it sent, and links share encodings: when a peer's neighbourhood changes, every link is
 * sent the same new level against, mostly, the same table before it, so a 32 KiB table is
 * deflated once for all of them rather than once per link (RouteTableEncodings).
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { MAX_ROUTE_LEVELS } from '../../../protocol/limits.ts';
import type { RouteTable as WireRouteTable, RouteTableSchema } from '../../../protocol/gen/wire_pb.ts';
import {
  decodeRouteTable,
  type EncodedRouteTable,
  encodeRouteTable,
  type RouteTable,
} from '../../../protocol/route-table.ts';

/** Tables whose encodings are kept: those of one update of every level, and of the update before. */
const TABLES_REMEMBERED = 2 * MAX_ROUTE_LEVELS;

/**
 * Encodings of (table, table sent before) pairs, shared by a peer's links: those of the last
 * TABLES_REMEMBERED tables encoded, each with at most one per table before it (one per link).
 * Bounded so that it never keeps old tables alive: a weak key would not do, since each entry holds
 * the table before it, and that one its own before, back to the first.
 */
export class RouteTableEncodings {
  private readonly memo = new Map<RouteTable, Map<RouteTable | undefined, EncodedRouteTable>>();

  encode(table: RouteTable, previous: RouteTable | undefined): EncodedRouteTable {
    let byPrevious = this.memo.get(table);
    if (!byPrevious) {
      byPrevious = new Map();
      this.memo.set(table, byPrevious);
      if (this.memo.size > TABLES_REMEMBERED) this.memo.delete(this.memo.keys().next().value!);
    }
    let encoded = byPrevious.get(previous);
    if (!encoded) {
      encoded = encodeRouteTable(table, previous);
      byPrevious.set(previous, encoded);
    }
    return encoded;
  }
}

export class LinkRouteTables {
  private readonly sent = new Map<number, RouteTable>();
  private readonly received = new Map<number, RouteTable>();

  constructor(private readonly encodings = new RouteTableEncodings()) {}

  /**
   * The message that brings the peer from the table of `level` sent last to `table` (a patch when
   * the sizes agree), or undefined when the peer has `table` already.
   */
  outgoing(level: number, table: RouteTable): MessageInitShape<typeof RouteTableSchema> | undefined {
    const previous = this.sent.get(level);
    if (previous?.equals(table)) return undefined;
    return { level, ...this.encodings.encode(table, previous) };
  }

  /** `table` was sent at `level` (and will not change): the next one goes as a patch against it. */
  recordSent(level: number, table: RouteTable): void {
    this.sent.set(level, table);
  }

  /**
   * The peer's table of the message's level, decoded against the one it sent before, and kept
   * for its next patch. Throws a RangeError when the message does not decode (route-table.ts).
   */
  incoming(message: WireRouteTable): RouteTable {
    const table = decodeRouteTable(message, this.received.get(message.level));
    this.received.set(message.level, table);
    return table;
  }
}
