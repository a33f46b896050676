-- Which log stream the applied sequence counts in: its creation time in microseconds (0: not known, a
-- database from before this column). A stream deleted and made again numbers from 1 again, so without
-- it an applier whose stream was replaced and has grown past its position took the new stream's
-- messages for the old one's and applied them on top of the old data.
alter table apply_state add column log_id bigint not null default 0;
