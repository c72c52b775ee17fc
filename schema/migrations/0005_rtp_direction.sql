-- The direction of a stream in its call (1 caller to callee, 2 callee to
-- caller, 0 unknown), from the SDP offer and answer: where media and
-- signalling addresses differ, or coincide (loopback, one host), it is
-- what ties a stream to a leg's direction.
ALTER TABLE {{.DB}}.rtp_reports ADD COLUMN direction UInt8 DEFAULT 0;
