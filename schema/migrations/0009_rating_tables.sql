-- Deck imports are versioned events: the exact bytes of every imported
-- deck file, so any rated figure can be reproduced from the deck version it
-- names. A CGRateS plan is one row per CSV file under the same version.
CREATE TABLE IF NOT EXISTS {{.DB}}.deck_imports (
    deck        String,
    version     String,
    format      String,
    file        String,
    imported_at DateTime('UTC'),
    currency    String,
    decimals    UInt8,
    options     String,
    content     String,
    ver         UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (deck, version, file);

-- Closed billing periods ('2026-11'): re-rating them writes adjustments.
CREATE TABLE IF NOT EXISTS {{.DB}}.rating_periods (
    period    String,
    state     String,
    closed_at DateTime('UTC'),
    ver       UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY period;

-- Adjustment lines of re-rated calls in closed periods: the difference
-- between the frozen amount and the new one, with the reason.
CREATE TABLE IF NOT EXISTS {{.DB}}.rating_adjustments (
    period      String,
    call_id     String,
    leg         UInt8,
    side        String,
    trunk       String,
    customer    String,
    start_time  DateTime('UTC'),
    deck        String,
    old_version String,
    new_version String,
    old_amount  Int64,
    new_amount  Int64,
    delta       Int64,
    decimals    UInt8,
    currency    String,
    reason      String,
    created     DateTime('UTC'),
    ver         UInt64
) ENGINE = ReplacingMergeTree(ver)
ORDER BY (period, call_id, leg, side, new_version);
