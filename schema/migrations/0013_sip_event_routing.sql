-- The routing fields of a SIP event that the raw message does not hold:
-- the HEP correlation id (chunk 0x11), the HEP capture agent id (0x0c) and
-- node name (0x13) that trunk resolution may use, and the probe's
-- observation flags (retransmission, HEP). With them `trunkscope rebuild`
-- replays an event exactly as the collector consumed it. Rows stored
-- before this migration read as captured, first-seen messages.
ALTER TABLE {{.DB}}.sip_events ADD COLUMN correlation_id String DEFAULT '';
ALTER TABLE {{.DB}}.sip_events ADD COLUMN capture_id UInt32 DEFAULT 0;
ALTER TABLE {{.DB}}.sip_events ADD COLUMN node String DEFAULT '';
ALTER TABLE {{.DB}}.sip_events ADD COLUMN flags UInt8 DEFAULT 0;
