/**
 * The PostgreSQL history schema, named for the queries served (src/history/postgres/
 * list-query.ts): one row per postback, attempts compact on the row, range-partitioned by
 * day on the id (see day-partitions.ts).
 */

/** Bumped with every change below; `schema_version` records what a database has. */
export const SCHEMA_VERSION = 1;

/** A PostgreSQL schema per QUEUE_PREFIX, so deployments sharing a database stay apart. */
export function schemaNameFor(queuePrefix: string): string {
  const base = queuePrefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'postback';
  return /^[a-z_]/.test(base) ? base.slice(0, 60) : `p_${base}`.slice(0, 60);
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Status as one byte ("char"): q(ueued), r(etrying), d(elivered), f(ailed).
 * Columns: the list filters and what a list row shows are columns; the rest of the static
 * record is `url` and `d` (JSON, implied fields left out), the attempts `a` (JSON arrays), and `rr`
 * the request with secrets as placeholders when masking changed it (what replay restores).
 */
export function migrationStatements(schema: string): string[] {
  const s = quoteIdent(schema);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.schema_version (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    // Fixed-width columns first (no alignment padding between them), then the texts.
    `CREATE TABLE IF NOT EXISTS ${s}.postbacks (
      finished_ms bigint,
      next_ms bigint,
      attempts smallint NOT NULL,
      http_status smallint,
      status "char" NOT NULL,
      id text COLLATE "C" NOT NULL,
      endpoint_id text NOT NULL,
      publisher_id text,
      event_id text NOT NULL,
      last_error text,
      url text NOT NULL,
      d text NOT NULL,
      rr text,
      a text,
      PRIMARY KEY (id)
    ) PARTITION BY RANGE (id)`,
    // Endpoint (any status), and the unsettled ones (failed, retrying, queued: few, so
    // partial indexes) by status alone and by status and endpoint, serve the Explorer's
    // and the API's filters newest first. Event ids are only ever looked up by equality:
    // a hash index, smaller than a B-tree of the same keys.
    `CREATE INDEX IF NOT EXISTS postbacks_endpoint ON ${s}.postbacks (endpoint_id, id)`,
    `CREATE INDEX IF NOT EXISTS postbacks_unsettled ON ${s}.postbacks (status, endpoint_id, id) WHERE status <> 'd'`,
    `CREATE INDEX IF NOT EXISTS postbacks_unsettled_any ON ${s}.postbacks (status, id) WHERE status <> 'd'`,
    `CREATE INDEX IF NOT EXISTS postbacks_publisher ON ${s}.postbacks (publisher_id, id) WHERE publisher_id IS NOT NULL`,
    `CREATE INDEX IF NOT EXISTS postbacks_event ON ${s}.postbacks USING hash (event_id)`,
    `INSERT INTO ${s}.schema_version (version) VALUES (${SCHEMA_VERSION}) ON CONFLICT DO NOTHING`,
  ];
}

export const STATUS_CODE = { queued: 'q', retrying: 'r', delivered: 'd', failed: 'f' } as const;
export const STATUS_NAME: Readonly<Record<string, 'queued' | 'retrying' | 'delivered' | 'failed'>> = {
  q: 'queued',
  r: 'retrying',
  d: 'delivered',
  f: 'failed',
};
