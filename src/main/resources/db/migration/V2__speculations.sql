-- Speculative transactions a mirror has answered 202 for (DESIGN §8). Written before the 202, so that a
-- mirror restarted after a crash carries on with the speculations still undecided and still reports the
-- outcome of those decided, for presage.mirror.speculation-retention. Unused at the coordinator.
create table speculations (
    id          text primary key,
    kind        text   not null check (kind in ('procedure', 'transaction')),
    name        text,            -- the procedure's name
    body        text   not null, -- JSON: the procedure's arguments, or the transaction as POST /v1/transactions takes it
    created_ms  bigint not null,
    finished_ms bigint,          -- null while speculative
    outcome     text             -- JSON: what GET /v1/transactions/{id} answers, once finished
);
create index speculations_finished on speculations (finished_ms);
