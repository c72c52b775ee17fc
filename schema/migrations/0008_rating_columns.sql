-- Rating issue: every rated CDR row carries the customer (sell side), the
-- band it started in, whether it could be rated (status 'unrated' with a
-- reason, never a silent zero), the number, answer time and duration it was rated on
-- (so finance can reproduce the figure), and cost, price and margin of its
-- call in margin_currency at margin_decimals (margin = price - cost).
ALTER TABLE {{.DB}}.rated_cdrs ADD COLUMN customer {{.LowCardinalityString}} DEFAULT '';
ALTER TABLE {{.DB}}.rated_cdrs ADD COLUMN band {{.LowCardinalityString}} DEFAULT '';
ALTER TABLE {{.DB}}.rated_cdrs ADD COLUMN status {{.LowCardinalityString}} DEFAULT 'rated';
ALTER TABLE {{.DB}}.rated_cdrs ADD COLUMN reason String DEFAULT '';
ALTER TABLE {{.DB}}.rated_cdrs ADD COLUMN number String DEFAULT '';
ALTER TABLE {{.DB}}.rated_cdrs ADD COLUMN duration_ms UInt64 DEFAULT 0;
ALTER TABLE {{.DB}}.rated_cdrs ADD COLUMN billed_from_us UInt64 DEFAULT 0;
ALTER TABLE {{.DB}}.rated_cdrs ADD COLUMN cost Int64 DEFAULT 0;
ALTER TABLE {{.DB}}.rated_cdrs ADD COLUMN price Int64 DEFAULT 0;
ALTER TABLE {{.DB}}.rated_cdrs ADD COLUMN margin Int64 DEFAULT 0;
ALTER TABLE {{.DB}}.rated_cdrs ADD COLUMN margin_decimals UInt8 DEFAULT 0;
ALTER TABLE {{.DB}}.rated_cdrs ADD COLUMN margin_currency {{.LowCardinalityString}} DEFAULT '';
