-- Leg fields of the collector issue: numbers normalised to E.164 with the
-- trunk's digit rules, the Reason header (RFC 3326) of the message that
-- ended the leg, codecs, and the HEP correlation / configured header that
-- ties an SBC's legs into one call.
ALTER TABLE {{.DB}}.cdrs ADD COLUMN caller_e164 String DEFAULT '';
ALTER TABLE {{.DB}}.cdrs ADD COLUMN callee_e164 String DEFAULT '';
ALTER TABLE {{.DB}}.cdrs ADD COLUMN reason_protocol String DEFAULT '';
ALTER TABLE {{.DB}}.cdrs ADD COLUMN reason_cause UInt16 DEFAULT 0;
ALTER TABLE {{.DB}}.cdrs ADD COLUMN reason_text String DEFAULT '';
ALTER TABLE {{.DB}}.cdrs ADD COLUMN codecs String DEFAULT '';
ALTER TABLE {{.DB}}.cdrs ADD COLUMN correlation String DEFAULT '';
ALTER TABLE {{.DB}}.cdrs ADD COLUMN ring_ms Int64 DEFAULT -1;
