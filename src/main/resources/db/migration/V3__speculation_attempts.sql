-- The attempt a procedure speculation has reached (attempt n is submitted under "<id>#n"), written before
-- it is sent: its number, the transaction exactly as sent (the body POST /v1/transactions takes) and the
-- procedure's result for it. A restarted mirror sends that same transaction again, so the coordinator
-- answers with its outcome (or waits for it, if it is still running) instead of the mirror planning a new
-- one: a new plan, or an earlier attempt sent again to a coordinator that has forgotten its abort, could
-- commit beside the attempt still in flight.
alter table speculations add column attempt integer not null default 0 check (attempt >= 0);
alter table speculations add column attempt_txn text;    -- null: no attempt sent yet
alter table speculations add column attempt_result text; -- JSON, null for none
