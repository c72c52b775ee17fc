package schema

// Column lists of the active probe's tables (migrations 0010, 0011), in
// insert order.
var (
	OptionsPingColumns = []string{"id", "ts", "ts_us", "trunk", "target", "transport", "code", "rtt_us", "result", "state",
		"probe_id", "detail"}
	TestCallColumns = []string{"id", "ts", "ts_us", "trunk", "call_id", "target", "result", "code", "pdd_ms", "setup_ms",
		"duration_ms", "rx_packets", "rx_lost", "jitter_us", "mos_x1000", "probe_id", "detail", "tx_packets"}
)
