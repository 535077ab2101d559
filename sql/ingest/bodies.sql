-- purpose: the new bodies of this ingest call, as the raw store and the platform mappers
--          read them.
-- grain:   one row per new distinct body (temp view _bodies), seq its arrival order.
-- params:  none. needs: temp tables _checked and _keep (new_bodies.sql).
-- A view, not a copy: the join by k is cheap next to copying every body once more, and the
-- raw store insert and the mapper each read the bodies once.
CREATE OR REPLACE TEMP VIEW _bodies AS
SELECT kp.platform, c.body_hash, kp.received_at, c.source, c.location, c.body, kp.seq, c.wa
FROM _checked AS c
JOIN _keep AS kp ON kp.k = c.k;
