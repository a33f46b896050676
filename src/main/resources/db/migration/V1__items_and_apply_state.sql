-- A node's materialised copy of the log. Written only by the applier, in log order.

-- Latest committed version of every key. item_value is the value's JSON text (validated at the API);
-- NULL is a deletion kept as a tombstone with the deletion's version, so that a transaction that read
-- "absent" after a delete names a version certification can check.
create table items (
    item_key   text primary key,
    item_value text,
    version    bigint not null,
    vclock     text   not null default '{}',  -- JSON object: originating node -> its latest commit timestamp
    seq        bigint not null                -- log sequence that wrote this version
);

-- The last log sequence applied, committed in the same transaction as the items it wrote:
-- a replay after a crash skips exactly what is already here.
create table apply_state (
    id         integer primary key check (id = 1),
    last_seq   bigint not null,
    updated_at timestamptz not null default now()
);
insert into apply_state (id, last_seq) values (1, 0);

-- Client idempotency ids of committed transactions, so a retry finds the first outcome after a restart.
create table txn_ids (
    txn_id   text primary key,
    ts       bigint not null,
    adjusted boolean not null,
    seq      bigint not null
);

-- Log messages that could not be decoded: parked (and published on the dead-letter subject), never
-- silently skipped. Health reports them until an operator deals with them.
create table dead_letters (
    seq       bigint primary key,
    subject   text not null,
    reason    text not null,
    data      bytea not null,
    parked_at timestamptz not null default now()
);
