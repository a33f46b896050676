-- The largest commit timestamp of any transaction applied, read-only ones included (they write no
-- item, so max(items.version) misses them). A restarted coordinator's clock starts above it, so no
-- timestamp it issues falls below a transaction already in the applied part of the log. Filled on
-- upgrade from what the store still knows: item versions, and the idempotency ids, which read-only
-- transactions sent with an id left.
alter table apply_state add column max_ts bigint not null default 0;
update apply_state set max_ts = greatest((select coalesce(max(version), 0) from items),
                                         (select coalesce(max(ts), 0) from txn_ids)) where id = 1;
