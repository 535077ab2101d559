-- purpose: the contact of every identifier component: an existing contact when any of its
--          identifiers is in identities, else a new contact id derived from its preferred
--          identifier (phone / e-mail first), or none when unknown identities are quarantined.
-- grain:   one row per component (temp table _comp_contact).
-- params:  $create BOOLEAN (create contacts for unknown identities).
-- needs:   _ids, _ident_comp(ident, comp).
CREATE OR REPLACE TEMP TABLE _comp_contact AS
WITH id_comp AS (
    SELECT i.*, coalesce(c.comp, i.ident) AS comp
    FROM _ids AS i LEFT JOIN _ident_comp AS c ON c.ident = i.ident
    WHERE i.ident IS NOT NULL
),
existing AS (
    SELECT x.comp, min(k.contact_id) AS contact_id
    FROM id_comp AS x
    JOIN identities AS k
      ON k.channel = x.channel AND k.address = x.address
     AND (x.scope IS NULL OR k.sender_id IS NULL OR k.sender_id = x.scope)
    GROUP BY x.comp
),
preferred AS (
    SELECT comp,
           arg_min(channel || ':' || coalesce(scope || ':', '') || address, (kind_rank, address))
               AS new_id,
           min(ts) AS created_at,
           arg_min(market, (market IS NULL, kind_rank, address)) AS market
    FROM id_comp
    GROUP BY comp
)
SELECT p.comp,
       coalesce(e.contact_id, CASE WHEN $create THEN p.new_id END) AS contact_id,
       e.contact_id IS NULL AS is_new,
       p.created_at, p.market
FROM preferred AS p LEFT JOIN existing AS e ON e.comp = p.comp;
