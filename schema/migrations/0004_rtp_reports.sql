-- RTP stream reports from the probe: interval reports (default every 10 s)
-- and one final report per stream. Keyed by the report's content-derived
-- ID, so redelivery and replays collapse; readers use FINAL. A leg's
-- per-direction media figures are the final reports of its Call-ID, joined
-- at query time (collector/query.go): a report that arrives long after the
-- BYE still lands on its call, without the collector holding the call open.
CREATE TABLE IF NOT EXISTS {{.DB}}.rtp_reports (
    report_id      String,
    ts             DateTime('UTC'),
    probe_id       String,
    call_id        String,
    src_ip         String,
    src_port       UInt16,
    dst_ip         String,
    dst_port       UInt16,
    ssrc           UInt32,
    payload_type   UInt8,
    codec          String,
    clock_hz       UInt32,
    final          UInt8,
    seq            UInt32,
    first_us       UInt64,
    last_us        UInt64,
    packets        UInt64,
    expected       UInt64,
    lost           Int64,
    duplicates     UInt64,
    reordered      UInt64,
    jitter_mean_us UInt32,
    jitter_max_us  UInt32,
    max_delta_us   UInt32,
    loss_bursts    UInt32,
    burst_r_x1000  UInt32,
    late_fixed     UInt64,
    late_adaptive  UInt64,
    mos_x1000      UInt32,
    mos_fixed_x1000    UInt32,
    mos_adaptive_x1000 UInt32
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (call_id, src_ip, src_port, ssrc, final, seq, report_id);
