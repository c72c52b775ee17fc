-- Repetitive strings (trunks, outcomes, methods, codecs, ...) as
-- LowCardinality where the engine has it without experimental settings
-- (19.x and later, chDB): smaller parts and faster group-bys. On 18.16 the
-- template renders String, and the statement changes nothing. Key columns
-- stay as they are (a sorting key cannot change type in place).
ALTER TABLE {{.DB}}.cdrs MODIFY COLUMN trunk {{.LowCardinalityString}};
ALTER TABLE {{.DB}}.cdrs MODIFY COLUMN direction {{.LowCardinalityString}};
ALTER TABLE {{.DB}}.cdrs MODIFY COLUMN probe_id {{.LowCardinalityString}};
ALTER TABLE {{.DB}}.cdrs MODIFY COLUMN outcome {{.LowCardinalityString}};
ALTER TABLE {{.DB}}.cdrs MODIFY COLUMN hangup_by {{.LowCardinalityString}};
ALTER TABLE {{.DB}}.sip_events MODIFY COLUMN probe_id {{.LowCardinalityString}};
ALTER TABLE {{.DB}}.sip_events MODIFY COLUMN method {{.LowCardinalityString}};
ALTER TABLE {{.DB}}.sip_events MODIFY COLUMN transport {{.LowCardinalityString}};
ALTER TABLE {{.DB}}.rated_cdrs MODIFY COLUMN trunk {{.LowCardinalityString}};
ALTER TABLE {{.DB}}.rated_cdrs MODIFY COLUMN deck {{.LowCardinalityString}};
ALTER TABLE {{.DB}}.rated_cdrs MODIFY COLUMN destination {{.LowCardinalityString}};
ALTER TABLE {{.DB}}.rated_cdrs MODIFY COLUMN currency {{.LowCardinalityString}};
ALTER TABLE {{.DB}}.rtp_reports MODIFY COLUMN probe_id {{.LowCardinalityString}};
ALTER TABLE {{.DB}}.rtp_reports MODIFY COLUMN codec {{.LowCardinalityString}};
