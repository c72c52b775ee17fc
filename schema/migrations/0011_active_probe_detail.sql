-- What went wrong, in words ("TLS: the certificate is signed by an unknown
-- authority", "credentials rejected"), the probe that measured, and the
-- packets a test call sent (against rx_packets: one-way audio at a glance).
ALTER TABLE {{.DB}}.options_pings ADD COLUMN probe_id String;
ALTER TABLE {{.DB}}.options_pings ADD COLUMN detail String;
ALTER TABLE {{.DB}}.test_calls ADD COLUMN probe_id String;
ALTER TABLE {{.DB}}.test_calls ADD COLUMN detail String;
ALTER TABLE {{.DB}}.test_calls ADD COLUMN tx_packets UInt32;
