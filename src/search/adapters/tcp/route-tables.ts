/**
 * The query routing tables one link has carried (feature "qrp", docs/PROTOCOL.md §12): per level,
 * the table sent last, which the next one is sent as a patch against, and the table received
 * last, which the peer's next patch applies to. At most MAX_ROUTE_LEVELS each way (the schema
 * refuses a higher level before it gets here), dropped with the link.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { RouteTable as WireRouteTable, RouteTableSchema } from '../../../protocol/gen/wire_pb.ts';
import { decodeRouteTable, encodeRouteTable, RouteTable } from '../../../protocol/route-table.ts';

export class LinkRouteTables {
  private readonly sent = new Map<number, RouteTable>();
  private readonly received = new Map<number, RouteTable>();

  /**
   * The message that brings the peer from the table of `level` sent last to `table` (a patch when
   * the sizes agree), or undefined when the peer has `table` already.
   */
  outgoing(level: number, table: RouteTable): MessageInitShape<typeof RouteTableSchema> | undefined {
    const previous = this.sent.get(level);
    if (previous?.equals(table)) return undefined;
    return { level, ...encodeRouteTable(table, previous) };
  }

  /** `table` was sent at `level`: the next one goes as a patch against it. */
  recordSent(level: number, table: RouteTable): void {
    // A copy: the caller may go on changing its own table, and a patch must be against what was sent.
    this.sent.set(level, RouteTable.fromBytes(table.toBytes()));
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
