/**
 * Typed-array columns of the column-wise stores (entry-slots.ts, pending-records.ts): one array
 * per field, indexed by a slot.
 */
export type Column = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** A copy of `column` with room for `capacity` slots: the old ones as they were, the new ones 0. */
export function widened<C extends Column>(column: C, capacity: number): C {
  const wider = new (column.constructor as new (length: number) => C)(capacity);
  wider.set(column);
  return wider;
}
