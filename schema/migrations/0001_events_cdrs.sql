-- Raw SIP events: the event log inside ClickHouse, for ladders, rebuilds and
-- audits. event_id is content-derived, so a redelivered or replayed event
-- collapses onto its first copy; readers use FINAL so counts are exact
-- whether or not parts have merged.
CREATE TABLE IF NOT EXISTS {{.DB}}.sip_events (
    event_id   String,
    ts         DateTime('UTC'),
    ts_us      UInt64,
    probe_id   String,
    call_id    String,
    src_ip     String,
    src_port   UInt16,
    dst_ip     String,
    dst_port   UInt16,
    transport  String,
    method     String,
    status     UInt16,
    cseq       UInt32,
    raw        String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (call_id, ts_us, event_id);

-- One row per call leg. A CDR is a projection of the events: rebuilding or
-- re-delivering writes the same key again with an equal or higher version,
-- and readers take the latest with FINAL.
CREATE TABLE IF NOT EXISTS {{.DB}}.cdrs (
    call_id     String,
    leg         UInt8,
    trunk       String,
    direction   String,
    probe_id    String,
    caller      String,
    callee      String,
    src_ip      String,
    dst_ip      String,
    start_time  DateTime('UTC'),
    start_us    UInt64,
    ring_us     UInt64,
    answer_us   UInt64,
    end_us      UInt64,
    pdd_ms      Int64,
    duration_ms UInt64,
    outcome     String,
    final_code  UInt16,
    hangup_by   String,
    flags       String,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (start_time, call_id, leg);

-- A rated CDR is a projection of a CDR and a rate deck version: re-rating
-- writes a higher version of the same key.
CREATE TABLE IF NOT EXISTS {{.DB}}.rated_cdrs (
    call_id      String,
    leg          UInt8,
    side         String,
    trunk        String,
    start_time   DateTime('UTC'),
    deck         String,
    deck_version String,
    prefix       String,
    destination  String,
    billable_s   UInt32,
    amount       Int64,
    decimals     UInt8,
    currency     String,
    version      UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (start_time, call_id, leg, side);
