-- purpose: who to message: the treatment (non-holdout) contacts of one experiment with
--          the address to use on their arm's channel and the experiment's sender.
-- grain:   one row per treatment contact that has an address on that channel; an
--          identity of the experiment's sender is preferred to one without a sender, then
--          the smallest address.
-- params:  $experiment_id VARCHAR, $arm_names VARCHAR[], $arm_channels VARCHAR[] (the
--          channel of each treatment arm), $sender_id VARCHAR (NULL: any sender).
SELECT
    a.experiment_id,
    a.contact_id,
    a.arm,
    ac.channel,
    i.sender_id,
    i.address,
    replace(CAST(a.assigned_at AS VARCHAR), ' ', 'T') || 'Z' AS assigned_at
FROM assignments AS a
JOIN (
    SELECT
        unnest(CAST($arm_names AS VARCHAR[])) AS arm,
        unnest(CAST($arm_channels AS VARCHAR[])) AS channel
) AS ac ON ac.arm = a.arm
JOIN identities AS i
  ON i.contact_id = a.contact_id
 AND i.channel = ac.channel
 AND (CAST($sender_id AS VARCHAR) IS NULL OR i.sender_id IS NULL
      OR i.sender_id = CAST($sender_id AS VARCHAR))
WHERE a.experiment_id = CAST($experiment_id AS VARCHAR)
QUALIFY row_number() OVER (
    PARTITION BY a.contact_id
    ORDER BY (i.sender_id IS NOT DISTINCT FROM CAST($sender_id AS VARCHAR)) DESC, i.address
) = 1
ORDER BY a.contact_id
