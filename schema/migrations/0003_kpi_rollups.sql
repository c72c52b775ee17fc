-- Per-minute KPI rollups. They hold only additive counts and mergeable
-- histogram buckets; ratios (ASR, ACD, NER, SER, SEER, ISA, SCR) and
-- percentiles are computed at query time (collector/kpi.go).
--
-- Exactly once: a rollup row is never incremented. After each batch of CDRs
-- is stored, the collector recomputes every minute those CDRs touch from
-- cdrs FINAL and writes the whole row again with a higher version; readers
-- use FINAL. A redelivery, replay, crash or late update therefore rewrites
-- the same figures instead of adding to them, and no figure depends on
-- OPTIMIZE or on background merges having run.
--
-- Country code of the callee (E.164), the destination of calls no deck
-- prices.
ALTER TABLE {{.DB}}.cdrs ADD COLUMN country String DEFAULT '';

-- One grain serves three views: per trunk (sum over destinations), per
-- destination (sum over trunks) and carrier x destination (as stored).
CREATE TABLE IF NOT EXISTS {{.DB}}.kpi_minute (
    minute        DateTime('UTC'),
    trunk         String,
    direction     String,
    destination   String,
    attempts      UInt64,
    answered      UInt64,
    connected_ms  UInt64,
    busy          UInt64,
    no_answer     UInt64,
    cancelled     UInt64,
    rejected      UInt64,
    timeout       UInt64,
    redirected    UInt64,
    ner_ok        UInt64,
    seer_ok       UInt64,
    isa           UInt64,
    scr           UInt64,
    c408          UInt64,
    c503          UInt64,
    pdd_count     UInt64,
    pdd_sum_ms    UInt64,
    pdd_le_1s     UInt64,
    pdd_le_2s     UInt64,
    pdd_le_3s     UInt64,
    pdd_le_5s     UInt64,
    pdd_le_8s     UInt64,
    pdd_le_13s    UInt64,
    cps_peak      UInt32,
    version       UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, trunk, direction, destination);

-- Final response codes per minute (408 and 503 are also first-class columns
-- of kpi_minute for the alert rules).
CREATE TABLE IF NOT EXISTS {{.DB}}.kpi_codes_minute (
    minute     DateTime('UTC'),
    trunk      String,
    direction  String,
    code       UInt16,
    n          UInt64,
    version    UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, trunk, direction, code);

-- Peak concurrent legs per minute (a leg occupies a channel from its INVITE
-- to its end), against the trunk's configured channels at query time, and
-- the peak of legs started in one second. Per trunk and direction: neither
-- can be summed from a finer grain. (kpi_minute.cps_peak is the same peak
-- at trunk x destination grain.)
CREATE TABLE IF NOT EXISTS {{.DB}}.kpi_concurrency_minute (
    minute     DateTime('UTC'),
    trunk      String,
    direction  String,
    peak       UInt32,
    cps_peak   UInt32,
    version    UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, trunk, direction);
