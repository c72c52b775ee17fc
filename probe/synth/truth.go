package synth

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Truth is what a correct CDR pipeline must reconstruct from the capture.
type Truth struct {
	Seed       int64       `json:"seed"`
	Start      time.Time   `json:"start"`
	Calls      []CallTruth `json:"calls"`
	Packets    int         `json:"packets"`
	SIPPackets int         `json:"sip_packets"`
	RTPPackets int         `json:"rtp_packets"`
}

// CallTruth describes one call exactly as it appears on the wire.
type CallTruth struct {
	CallID    string `json:"call_id"`
	Trunk     string `json:"trunk"`
	Direction string `json:"direction"`
	Caller    string `json:"caller"`
	Callee    string `json:"callee"`
	// Outcome is one of answered, busy, no_answer, rejected, cancelled, timeout.
	Outcome   string `json:"outcome"`
	FinalCode int    `json:"final_code"` // 0 for timeout
	// Times are unix microseconds. RingUS is the first 18x (0 if none),
	// AnswerUS the 200 OK (0 if not answered), EndUS the BYE for answered
	// calls, the final response otherwise and INVITE+32s (Timer B) on timeout.
	StartUS    int64  `json:"start_us"`
	RingUS     int64  `json:"ring_us"`
	AnswerUS   int64  `json:"answer_us"`
	EndUS      int64  `json:"end_us"`
	PDDMs      int64  `json:"pdd_ms"`      // -1 if no 18x
	DurationMs int64  `json:"duration_ms"` // 0 unless answered
	HangupBy   string `json:"hangup_by"`   // "caller" or "callee" for answered calls
	// SIPMessages counts packets per request method or response code,
	// retransmissions included.
	SIPMessages map[string]int `json:"sip_messages"`
}

// WriteJSON writes t as indented JSON so truth files diff well in review.
func (t *Truth) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("synth: write truth: %w", err)
	}
	return nil
}

// TruthPath names the truth file that belongs next to a capture:
// "x/calls.pcap" -> "x/calls.truth.json".
func TruthPath(pcapPath string) string {
	return strings.TrimSuffix(pcapPath, filepath.Ext(pcapPath)) + ".truth.json"
}

// ReadTruth reads the truth file written next to the capture pcapPath.
func ReadTruth(pcapPath string) (*Truth, error) {
	b, err := os.ReadFile(TruthPath(pcapPath))
	if err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	var t Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("synth: %s: %w", TruthPath(pcapPath), err)
	}
	return &t, nil
}
