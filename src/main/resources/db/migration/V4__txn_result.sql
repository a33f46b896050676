-- A committed procedure attempt's result (JSON text), from the log's Txn.result: a call retried
-- with the same id after a restart is answered with it. Null for transactions without one.
alter table txn_ids add column result text;
