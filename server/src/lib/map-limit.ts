/**
 * `items.map(fn)` with at most `limit` calls in flight, results in order. For reading thousands of small files
 * (/proc): all at once would hold thousands of file descriptors, and a hub out of them cannot accept connections.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
