-- Per-minute audio quality of answered legs, at the grain of kpi_minute
-- (minute of the leg's INVITE, trunk, direction, destination) and rewritten
-- whole with a higher version, the same exactly-once scheme. A leg counts
-- when a final RTP stream report of its Call-ID is stored; its MOS is the
-- lower direction's (DESIGN.md). Only additive counts, sums, cumulative
-- histogram buckets and maxima: mean MOS, loss percentage and low MOS
-- percentiles are computed at query time (collector/kpiquery.go).
CREATE TABLE IF NOT EXISTS {{.DB}}.kpi_quality_minute (
    minute          DateTime('UTC'),
    trunk           String,
    direction       String,
    destination     String,
    media_legs      UInt64,
    mos_sum_x1000   UInt64,
    mos_le_2_0      UInt64,
    mos_le_2_5      UInt64,
    mos_le_3_0      UInt64,
    mos_le_3_5      UInt64,
    mos_le_3_6      UInt64,
    mos_le_3_8      UInt64,
    mos_le_4_0      UInt64,
    mos_le_4_2      UInt64,
    mos_le_4_4      UInt64,
    streams         UInt64,
    packets         UInt64,
    lost            Int64,
    jitter_max_sum_us UInt64,
    jitter_max_us   UInt32,
    one_way         UInt64,
    version         UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, trunk, direction, destination);
