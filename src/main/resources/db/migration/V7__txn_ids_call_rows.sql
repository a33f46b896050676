-- A committed procedure attempt "<id>#n" (n = 0..7) is stored under the call's id "<id>" too, with the
-- attempt's outcome, so that one lookup of "<id>" finds the call (ids share one namespace: a plain
-- transaction under a call's id answers for the call). The applier writes both rows from now on; this
-- adds the call rows for attempts stored before. First attempt by log position wins, as in the applier;
-- an id already stored (a plain transaction under it, earlier in the log) keeps its own outcome.
insert into txn_ids (txn_id, ts, adjusted, seq, result)
select substring(txn_id from '^(.+)#[0-7]$'), ts, adjusted, seq, result
  from txn_ids
 where txn_id ~ '^.+#[0-7]$'
 order by seq
    on conflict (txn_id) do nothing;
