/**
 * How batch jobs that retry name each other. A record names the batch job that holds its
 * next attempt (its `batch` field); a batch of later attempts is named after the batch job
 * it came from, so that the orphan scan, reading a record that names a retry batch not yet
 * added, finds the job still adding it.
 */
const RETRY_MARK = '~';

/**
 * The id of the `k`th batch that a batch job's items retry in, on the parent's `run`th
 * start (a parent run again must not reuse an id its first run may have added).
 */
export function retryBatchId(parentId: string, run: number, k: number): string {
  return `${parentId}${RETRY_MARK}${run}.${k}`;
}

/** The batch job that made retry batch `id`, or undefined for a batch of first attempts. */
export function parentBatchId(id: string): string | undefined {
  const at = id.lastIndexOf(RETRY_MARK);
  return at > 0 ? id.slice(0, at) : undefined;
}
