/**
 * Runs a scrape-time read for a gauge. While Redis is away the read fails: the gauge keeps
 * its last values and the scrape still serves every counter of the process, rather than
 * failing whole (and firing "worker down" alerts during a Redis outage). /readyz says Redis
 * is away.
 */
export async function keepLastOnError(read: () => Promise<void>): Promise<void> {
  try {
    await read();
  } catch {
    // Deliberately silent: one line per scrape for as long as the outage lasts is noise.
  }
}
