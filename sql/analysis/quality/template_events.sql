-- purpose: status, quality-rating and category history of the WhatsApp message templates
--          an experiment used, from the template webhooks ingest keeps in platform_events
--          (message_template_status_update, message_template_quality_update,
--          template_category_update).
-- grain:   one row per distinct template event: for each (template, language, field) the
--          last event before the experiment window (phase 'before', the starting state)
--          and every event inside the window (phase 'during'). Earlier events and events
--          after the window end are left out. A template without any such event gives
--          one row whose event columns are NULL.
-- params:  $experiment_id VARCHAR; $assigned_at TIMESTAMP, $window_days INTEGER and
--          $as_of TIMESTAMP (the window when no unit is analysed yet: from assigned_at for
--          window_days, cut at as_of).
-- needs:   temp table _units from analysis/units/units.sql (the window runs from the first
--          assignment to the last unit's window end).
-- A template is matched by name or by id: messages.template holds what the sending
-- system logged, the webhooks carry both.
WITH bounds AS (
    SELECT coalesce(min(assigned_at), $assigned_at) AS window_start,
           coalesce(max(window_end),
                    least($assigned_at + to_days(CAST($window_days AS INTEGER)), $as_of))
               AS window_end
    FROM _units
),
templates AS (
    SELECT template, count(*) AS messages
    FROM messages
    WHERE experiment_id = $experiment_id AND template IS NOT NULL
    GROUP BY template
),
events AS (
    SELECT DISTINCT
        t.template,
        p.template_id,
        p.template_language AS language,
        p.field,
        upper(p.event) AS event,
        p.ts,
        upper(coalesce(json_extract_string(p.detail, '$.previous_quality_score'),
                       json_extract_string(p.detail, '$.previous_category'))) AS previous,
        json_extract_string(p.detail, '$.other_info.title') AS title,
        json_extract_string(p.detail, '$.reason') AS reason,
        upper(json_extract_string(p.detail, '$.correct_category')) AS correct_category
    FROM platform_events AS p
    JOIN templates AS t ON t.template = p.template_name OR t.template = p.template_id
    WHERE p.platform = 'whatsapp'
      AND p.field IN ('message_template_status_update', 'message_template_quality_update',
                      'template_category_update')
      AND p.ts IS NOT NULL
),
placed AS (
    SELECT
        e.*,
        CASE WHEN e.ts < b.window_start THEN 'before' ELSE 'during' END AS phase,
        row_number() OVER (
            PARTITION BY e.template, e.language, e.field, e.ts < b.window_start
            ORDER BY e.ts DESC, e.event DESC
        ) AS recency
    FROM events AS e, bounds AS b
    WHERE e.ts <= b.window_end
)
SELECT
    t.template,
    t.messages,
    b.window_start,
    b.window_end,
    p.template_id,
    p.language,
    CASE p.field
        WHEN 'message_template_status_update' THEN 'status'
        WHEN 'message_template_quality_update' THEN 'quality'
        WHEN 'template_category_update' THEN 'category'
    END AS kind,
    p.event,
    p.previous,
    p.title,
    p.reason,
    p.correct_category,
    p.ts,
    p.phase
FROM templates AS t
CROSS JOIN bounds AS b
LEFT JOIN placed AS p
    ON p.template = t.template AND (p.phase = 'during' OR p.recency = 1)
ORDER BY t.template, p.language NULLS FIRST, p.ts NULLS FIRST, kind, p.event
