-- RTCP as observed (captured compound packets, HEP type 5 JSON), one row
-- per sender report, reception report block and XR VoIP Metrics block
-- (RFC 3550 §6.4, RFC 3611 §4.7), tied to the call by Call-ID. Keyed by the
-- event's content-derived ID and the block's position: replays collapse.
CREATE TABLE IF NOT EXISTS {{.DB}}.rtcp_reports (
    event_id        String,
    block           UInt16,
    ts              DateTime('UTC'),
    ts_us           UInt64,
    call_id         String,
    src_ip          String,
    src_port        UInt16,
    dst_ip          String,
    dst_port        UInt16,
    source          String,
    kind            String,
    reporter_ssrc   UInt32,
    ssrc            UInt32,
    fraction_lost   UInt8,
    cumulative_lost Int32,
    ext_highest_seq UInt32,
    jitter          UInt32,
    lsr             UInt32,
    dlsr            UInt32,
    sender_packets  UInt32,
    sender_octets   UInt32,
    loss_rate       UInt8,
    discard_rate    UInt8,
    round_trip_ms   UInt16,
    r_factor        UInt8,
    mos_lq_x10      UInt8,
    mos_cq_x10      UInt8
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (call_id, ts_us, event_id, block);
