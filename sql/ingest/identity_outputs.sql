-- purpose: what identity resolution hands to the writer: the contact of each observation,
--          the contacts and identities to add, and why an observation has no contact.
-- grain:   _obs_contact one row per resolved observation; _new_contacts one per new
--          contact; _new_identities one per (contact, channel, address, sender);
--          _obs_unresolved one per observation without a contact.
-- params:  none. Several statements. needs: _ids, _ident_comp, _comp_contact.
CREATE OR REPLACE TEMP TABLE _id_contact AS
SELECT i.obs_id, i.channel, i.address, i.scope, c.contact_id
FROM _ids AS i
LEFT JOIN _ident_comp AS x ON x.ident = i.ident
JOIN _comp_contact AS c ON c.comp = coalesce(x.comp, i.ident)
WHERE i.ident IS NOT NULL AND c.contact_id IS NOT NULL;
CREATE OR REPLACE TEMP TABLE _obs_contact AS
SELECT obs_id, min(contact_id) AS contact_id FROM _id_contact GROUP BY obs_id;
CREATE OR REPLACE TEMP TABLE _new_contacts AS
SELECT contact_id, market, created_at FROM _comp_contact WHERE is_new AND contact_id IS NOT NULL;
CREATE OR REPLACE TEMP TABLE _new_identities AS
SELECT DISTINCT contact_id, channel, address, scope AS sender_id FROM _id_contact;
CREATE OR REPLACE TEMP TABLE _obs_unresolved AS
SELECT obs_id,
       CASE WHEN bool_or(ident IS NOT NULL)
            THEN 'unknown identity '
                 || string_agg(DISTINCT kind || ' ' || address, ', ' ORDER BY kind || ' ' || address)
                 || '; load it into identities (then ingest --rebuild) or ingest with '
                 || '--unknown-identity create'
            ELSE 'no usable identity: '
                 || string_agg(DISTINCT kind || ' ' || raw, ', ' ORDER BY kind || ' ' || raw)
                 || ' (not a possible phone number / address)'
       END AS reason
FROM _ids
WHERE obs_id NOT IN (SELECT obs_id FROM _obs_contact)
GROUP BY obs_id;
