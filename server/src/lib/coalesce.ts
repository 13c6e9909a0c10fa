/**
 * Serves many requests with one run of `work`: a request made while a run is under way joins the next run, which
 * starts when the current one ends and serves every request made meanwhile. So there is never more than one run at a
 * time, and each request is served by a run that started after it was made (what it sees is never older than its
 * own request). Hundreds of stops in flight share one read of the mount table, or one `umount` process, this way.
 */
export function coalesce<T, R>(work: (requests: T[]) => Promise<R>): (request: T) => Promise<R> {
  let running = false;
  let next: { requests: T[]; resolve: (r: R) => void; reject: (e: unknown) => void; promise: Promise<R> } | undefined;

  const drain = async (): Promise<void> => {
    running = true;
    while (next) {
      const batch = next;
      next = undefined;
      try {
        batch.resolve(await work(batch.requests));
      } catch (err) {
        batch.reject(err);
      }
    }
    running = false;
  };

  return (request) => {
    if (!next) {
      let resolve!: (r: R) => void, reject!: (e: unknown) => void;
      const promise = new Promise<R>((res, rej) => ((resolve = res), (reject = rej)));
      next = { requests: [], resolve, reject, promise };
    }
    next.requests.push(request);
    const { promise } = next;
    if (!running) void drain();
    return promise;
  };
}
