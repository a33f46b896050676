-- Idempotency ids are kept for presage.apply.id-retention, then deleted a chunk at a time (IdRetention).
-- The retention counts from when an id was stored, by the database's clock, not from its commit
-- timestamp: an adjusted commit's timestamp lies in the past, as far back as the versions its
-- transaction read, and its id would be deleted moments after the commit when that was older than the
-- retention. Rows stored before this keep the retention from now (kept longer: safe). The index lets
-- each chunk find the oldest rows without a scan of the table.
alter table txn_ids add column stored_at timestamptz not null default now();
create index txn_ids_stored_at on txn_ids (stored_at);
