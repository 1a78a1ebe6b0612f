/**
 * Redis may be briefly away (restart, failover) right after a request went out: keep
 * trying to record for up to `budgetMs` rather than failing the job, which would count a
 * sent postback as a failed attempt, or lose its final record.
 */
export async function recordWithRetry(write: () => Promise<unknown>, budgetMs: number): Promise<void> {
  const deadline = Date.now() + budgetMs;
  for (let wait = 100; ; wait = Math.min(wait * 2, 1000)) {
    try {
      await write();
      return;
    } catch (err) {
      if (Date.now() + wait > deadline) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
