-- purpose: create every canonical table plus the workspace metadata table.
-- grain:   one table per concept; see docs/architecture.md, "Canonical tables".
-- params:  none. Applied once by threadlift.workspace when schema_version < 1.
-- All times are UTC TIMESTAMP; identifiers VARCHAR.

CREATE TABLE IF NOT EXISTS contacts (
    contact_id VARCHAR NOT NULL,
    market VARCHAR,
    created_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS identities (
    contact_id VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    address VARCHAR NOT NULL,
    sender_id VARCHAR
);

CREATE TABLE IF NOT EXISTS consents (
    contact_id VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    sender_id VARCHAR,
    scope VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    source VARCHAR
);

CREATE TABLE IF NOT EXISTS messages (
    message_id VARCHAR NOT NULL,
    contact_id VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    sender_id VARCHAR,
    experiment_id VARCHAR,
    arm VARCHAR,
    campaign_id VARCHAR,
    template VARCHAR,
    category VARCHAR,
    sent_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS message_events (
    message_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    error_code VARCHAR,
    pricing_category VARCHAR,
    billable BOOLEAN
);

CREATE TABLE IF NOT EXISTS inbound (
    message_id VARCHAR NOT NULL,
    contact_id VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    sender_id VARCHAR,
    ts TIMESTAMP NOT NULL,
    type VARCHAR,
    context_message_id VARCHAR
);

CREATE TABLE IF NOT EXISTS actions (
    action_id VARCHAR NOT NULL,
    contact_id VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    value DOUBLE
);

CREATE TABLE IF NOT EXISTS feedback (
    contact_id VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    sender_id VARCHAR,
    kind VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    reason VARCHAR
);

CREATE TABLE IF NOT EXISTS sender_quality (
    sender_id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    quality_rating VARCHAR,
    messaging_limit_tier VARCHAR,
    event VARCHAR
);

CREATE TABLE IF NOT EXISTS rate_card (
    channel VARCHAR NOT NULL,
    market VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    price DOUBLE NOT NULL,
    currency VARCHAR NOT NULL,
    valid_from TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS assignments (
    experiment_id VARCHAR NOT NULL,
    contact_id VARCHAR NOT NULL,
    arm VARCHAR NOT NULL,
    bucket INTEGER,
    assigned_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS exposures (
    experiment_id VARCHAR NOT NULL,
    contact_id VARCHAR NOT NULL,
    arm VARCHAR,
    ts TIMESTAMP NOT NULL,
    source VARCHAR
);

CREATE TABLE IF NOT EXISTS quarantine (
    source VARCHAR NOT NULL,
    location VARCHAR,
    reason VARCHAR NOT NULL,
    raw VARCHAR,
    ingested_at TIMESTAMP NOT NULL,
    target_table VARCHAR
);

CREATE TABLE IF NOT EXISTS threadlift_meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
