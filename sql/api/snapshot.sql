-- purpose: the API's snapshot file (threadlift.api.snapshot): written by the builder
--          (build_snapshot), read by every worker (load_snapshot) into compact columns.
-- grain:   named statements, each with its own grain below.
-- reads:   candidates (the builder's rows, registered from Arrow), then the snapshot
--          file's tables contacts and eligibility.
-- params:  see each statement.

-- statement: contacts
-- Every contact id any experiment evaluated, stored once for all experiments, in the order
-- workers search it: by index_key, the first 15 hex digits of md5(utf8(contact_id)) as an
-- integer (threadlift.api.snapshot.index_key computes the same in Python; a test checks
-- them equal). Ties (the same key for two ids) are kept, in any order: a lookup compares
-- the ids of every row with its key.
-- grain:   one row per distinct contact_id of candidates; row is 0, 1, 2, … in that order.
-- params:  none.
CREATE TABLE contacts AS
SELECT
    CAST(row_number() OVER (ORDER BY index_key, contact_id) - 1 AS BIGINT) AS row,
    index_key,
    contact_id
FROM (
    SELECT DISTINCT
        contact_id,
        CAST(('0x' || substr(md5(contact_id), 1, 15)) AS BIGINT) AS index_key
    FROM candidates
);

-- statement: eligibility
-- Each experiment's evaluated contacts as small codes, addressed by their contacts row:
-- reason and arm are 1 + their position in the experiment's reason_names / arm_names
-- (0 for none), bucket as eligibility_snapshot gave it.
-- grain:   one row per (experiment_id, contact_id) candidate.
-- params:  none.
CREATE TABLE eligibility AS
SELECT candidates.experiment_id, contacts.row, candidates.reason, candidates.arm,
       candidates.assigned, candidates.bucket, candidates.assigned_at
FROM candidates
JOIN contacts USING (contact_id)
ORDER BY candidates.experiment_id, contacts.row;

-- statement: contact_index
-- What a worker loads to find a contact's row.
-- grain:   one row per contact, in row order.
-- params:  none.
SELECT index_key, contact_id
FROM contacts
ORDER BY row;

-- statement: columns
-- One experiment's evaluated contacts, loaded by every worker into one column per field
-- (assigned_at in microseconds since 1970, $no_time when there is none).
-- grain:   one row per (experiment_id, contact_id) candidate.
-- params:  $experiment_id VARCHAR, $no_time BIGINT.
SELECT row, reason, arm, assigned, bucket,
       coalesce(epoch_us(assigned_at), CAST($no_time AS BIGINT)) AS assigned_at_us
FROM eligibility
WHERE experiment_id = CAST($experiment_id AS VARCHAR)
ORDER BY row;

-- statement: arm_counts
-- Eligible (assigned or assignable) known contacts per arm code of one experiment
-- (GET /v1/experiments/{id}).
-- grain:   one row per arm code with at least one eligible contact.
-- params:  $experiment_id VARCHAR.
SELECT arm, count(*) AS contacts
FROM eligibility
WHERE experiment_id = CAST($experiment_id AS VARCHAR) AND reason = 0 AND arm > 0
GROUP BY arm;
