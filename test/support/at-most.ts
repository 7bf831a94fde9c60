/**
 * `fn` over `items`, at most `limit` at a time; the results in the order of `items`. For steps a
 * test may run together (starting peers on separate hosts, CLI calls to different peers) but not
 * all at once: each is a process of its own, and a dozen node processes starting together on a
 * loaded 2-core machine could each miss its own start deadline.
 */
export async function atMost<T, R>(
  limit: number,
  items: readonly T[],
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
