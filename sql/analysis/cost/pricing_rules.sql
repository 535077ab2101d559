-- purpose: the workspace's own pricing rules (`threadlift load pricing_rules FILE`), which
--          override the shipped sql/analysis/cost/pricing_rules.csv rule by rule.
-- grain:   one row per loaded rule and period, in the table's column order.
-- params:  none. Runs on the workspace (pricing rules are not a lake table).
SELECT rule, channel, category, market, applies, effect, valid_from, valid_to, source, version
FROM pricing_rules
ORDER BY rule, valid_from
