-- Active-probe results (probe/active): one row per OPTIONS ping and per
-- test call, keyed by the event's content-derived ID, so a redelivered
-- event rewrites its row. Dashboards and alerts read them with FINAL.
CREATE TABLE IF NOT EXISTS {{.DB}}.options_pings (
    id        String,
    ts        DateTime('UTC'),
    ts_us     UInt64,
    trunk     String,
    target    String,
    transport String,
    code      UInt16,
    rtt_us    UInt32,
    result    String,
    state     String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (trunk, target, ts_us, id);
CREATE TABLE IF NOT EXISTS {{.DB}}.test_calls (
    id          String,
    ts          DateTime('UTC'),
    ts_us       UInt64,
    trunk       String,
    call_id     String,
    target      String,
    result      String,
    code        UInt16,
    pdd_ms      UInt32,
    setup_ms    UInt32,
    duration_ms UInt32,
    rx_packets  UInt32,
    rx_lost     UInt32,
    jitter_us   UInt32,
    mos_x1000   UInt16
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (trunk, ts_us, id);
