-- purpose: the workspace's own tables and their text columns, which erasure sweeps for the
--          person's identifiers (threadlift.privacy.erasure).
-- grain:   one row per base table of the main schema: its name, its VARCHAR columns (a list,
--          possibly empty) and whether it has a contact_id column.
-- params:  none.
SELECT t.table_name,
       list(c.column_name ORDER BY c.ordinal_position)
           FILTER (WHERE c.data_type = 'VARCHAR') AS text_columns,
       coalesce(bool_or(c.column_name = 'contact_id'), false) AS has_contact_id
FROM information_schema.tables AS t
JOIN information_schema.columns AS c
  ON c.table_schema = t.table_schema AND c.table_name = t.table_name
WHERE t.table_schema = 'main' AND t.table_type = 'BASE TABLE'
  AND t.table_catalog = current_database() AND c.table_catalog = current_database()
GROUP BY t.table_name
ORDER BY t.table_name
