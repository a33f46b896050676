-- Idempotency ids are kept for presage.apply.id-retention (by commit timestamp), then deleted a chunk
-- at a time (IdRetention): this index lets each chunk find the oldest rows without a scan of the table.
create index if not exists txn_ids_ts on txn_ids (ts);
