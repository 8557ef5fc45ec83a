/**
 * What `keys shred` prints after a shred: what the shred does not reach, and for how long. The
 * long form, with the commands to shorten each, is SECURITY.md's "What shredding leaves behind".
 */
export const SHRED_RESIDUE_NOTICE: readonly string[] = [
  'what this shred leaves behind (SECURITY.md, "What shredding leaves behind"):',
  '  - running servers dropped these keys from memory on the shred notification (milliseconds); a server whose notification connection was down drops every cached key when it reconnects, and never keeps one past LEDGERLINE_DEK_CACHE_MAX_AGE_MS',
  "  - PostgreSQL keeps the deleted wraps' old row versions in the table files until VACUUM reclaims them and the space is reused, and in the WAL until it is recycled (checkpoints, wal_keep_size, replication slots)",
  '  - WAL archives and backups (pg_dump, base backups, snapshots) keep the wraps until they expire under your backup retention; replicas apply the shred within their replication lag (a delayed replica: after its delay)',
  "  - those copies open only with this tenant's KEK: to make them useless before they expire, rotate the tenant's KEK (keys rotate) and retire the old version (keys retire-kek, local key ring) or schedule deletion of the old KMS key",
  '  - the events stay in the event store, sealed and unreadable; read models keep ids and times, never text',
];
