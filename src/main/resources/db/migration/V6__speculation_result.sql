-- The result a procedure speculation's 202 answered (JSON; null when the procedure refused on the mirror's
-- data, and for plain transactions), written with the speculation before the 202. A restarted mirror that
-- runs the call again compares what commits with it: COMMITTED only when it is the result answered,
-- REEXECUTED otherwise (after a restart it could not tell, and reported a new result as COMMITTED).
alter table speculations add column speculated text;
