-- An id's retention (presage.apply.id-retention) counts from when it was stored, by the database's
-- clock, not from its commit timestamp: an adjusted commit's timestamp lies in the past, as far back as
-- the versions its transaction read, and its id was deleted moments after the commit when that was
-- older than the retention. Rows stored before this keep the retention from now (kept longer: safe).
alter table txn_ids add column stored_at timestamptz not null default now();
drop index if exists txn_ids_ts;
create index txn_ids_stored_at on txn_ids (stored_at);
