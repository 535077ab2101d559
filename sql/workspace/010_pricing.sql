-- purpose: pricing as data. The rate card may carry monthly volume tiers (WhatsApp's
--          utility and authentication prices since 2025-07-01), and the rules that make a
--          message free (free service messages, free utility templates inside a
--          customer-service window) or undeliverable (marketing templates to US numbers)
--          live in a table the user can load (`threadlift load pricing_rules FILE`) to
--          override the rules threadlift ships (sql/analysis/cost/pricing_rules.csv).
-- grain:   rate_card gains tier_lower / tier_upper: the 1-based ranks, inclusive, of the
--          sender's billed messages of the channel, market and category in a calendar
--          month (UTC) the price applies to (NULL: no bound). pricing_rules: one row per
--          rule and period (docs/guardrails-and-cost.md, "Pricing rules").
-- params:  none. Applied once by threadlift.workspace when schema_version < 10. Reports
--          read both tables, so a read-only report needs a workspace migrated by a
--          command that writes.

ALTER TABLE rate_card ADD COLUMN IF NOT EXISTS tier_lower BIGINT;
ALTER TABLE rate_card ADD COLUMN IF NOT EXISTS tier_upper BIGINT;

CREATE TABLE IF NOT EXISTS pricing_rules (
    rule VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    market VARCHAR,
    applies VARCHAR NOT NULL,
    effect VARCHAR NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    valid_to TIMESTAMP,
    source VARCHAR NOT NULL,
    version VARCHAR
);
