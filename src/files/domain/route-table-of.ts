/**
 * This peer's query routing table (feature "qrp", protocol/route-table.ts, docs/PROTOCOL.md §12):
 * the tokens of every name a search may find here and every id a lookup may, so that the table
 * never rules out a query this peer would answer. Names are cut by the tokenizer the catalog
 * indexes them with (terms.ts); the table is sized for its keys with RouteTable.sizeFor.
 */
import { ROUTE_PREFIX_MAX, ROUTE_TABLE_OWN_MIN_BITS_LOG2, RouteTable } from '../../protocol/route-table.ts';
import { tokenize } from './terms.ts';

/** A shared file's name (or a shared folder's) and its id (its collection id). */
export interface RoutedName {
  readonly id: string;
  readonly name: string;
}

/**
 * The table of these names and ids. Its keys are counted as every prefix of every distinct token
 * (up to ROUTE_PREFIX_MAX) plus every id: tokens that share a prefix count it twice, so the
 * table errs on the large side, that is towards fewer false positives. `minLog2`: the smallest
 * size (RouteTable.sizeFor's floor; benchmarks try others).
 */
export function routeTableOf(names: Iterable<RoutedName>, minLog2 = ROUTE_TABLE_OWN_MIN_BITS_LOG2): RouteTable {
  const tokens = new Set<string>();
  const ids = new Set<string>();
  for (const { id, name } of names) {
    ids.add(id);
    for (const token of tokenize(name)) tokens.add(token);
  }
  let keys = ids.size;
  for (const token of tokens) keys += Math.min(ROUTE_PREFIX_MAX, [...token].length);
  const table = RouteTable.empty(RouteTable.sizeFor(keys, minLog2));
  table.addTokens([...tokens]);
  for (const id of ids) table.addId(id);
  return table;
}
