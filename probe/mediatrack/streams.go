package mediatrack

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/trunkscope/trunkscope/event"
)

// WriteTable writes the final reports among reports as a stream list, one
// row per stream, sorted by source, destination, SSRC and start, so that
// the same capture gives the same bytes. Interval reports are skipped.
//
// Format "table" is for people and follows tshark's `-z rtp,streams` (its
// columns up to Mean Jitter, at its widths, then MOS and Call-ID); its
// rows compare line by line with tshark's. Format "csv" is for tools: a
// header row, the same columns, numbers without units or padding, lost
// and its percentage in columns of their own. SSRCs are hex (0x%08X) in
// both, as Wireshark and RTCP tools print them; the payload is the codec
// name, or the payload type number when no codec is known.
func WriteTable(w io.Writer, reports []event.RTPReport, format string) error {
	if format != "table" && format != "csv" {
		return fmt.Errorf("mediatrack: unknown stream table format %q (want table or csv)", format)
	}
	rows := make([]*event.RTPReport, 0, len(reports))
	for i := range reports {
		if reports[i].Final {
			rows = append(rows, &reports[i])
		}
	}
	slices.SortFunc(rows, compareReports)
	if format == "csv" {
		return writeCSV(w, rows)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "========================= RTP Streams ========================")
	fmt.Fprintf(bw, "%15s %5s %15s %5s %10s %16s %5s %12s %15s %15s %15s %6s  %s\n",
		"Src IP addr", "Port", "Dest IP addr", "Port", "SSRC", "Payload", "Pkts", "Lost",
		"Max Delta(ms)", "Max Jitter(ms)", "Mean Jitter(ms)", "MOS", "Call-ID")
	for _, r := range rows {
		fmt.Fprintf(bw, "%15s %5d %15s %5d 0x%08X %16s %5d %5d (%.1f%%) %15.3f %15.3f %15.3f %6.2f",
			r.Src.Addr(), r.Src.Port(), r.Dst.Addr(), r.Dst.Port(), r.SSRC, payload(r), r.Packets,
			r.Lost, lostPercent(r), ms(r.MaxDeltaUS), ms(r.JitterMaxUS), ms(r.JitterMeanUS),
			float64(r.MOSx1000)/1000)
		if len(r.CallID) > 0 {
			fmt.Fprintf(bw, "  %s", r.CallID)
		}
		bw.WriteByte('\n')
	}
	fmt.Fprintln(bw, "==============================================================")
	return bw.Flush()
}

func writeCSV(w io.Writer, rows []*event.RTPReport) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"src_addr", "src_port", "dst_addr", "dst_port", "ssrc", "payload", "packets",
		"lost", "lost_percent", "max_delta_ms", "max_jitter_ms", "mean_jitter_ms", "mos", "call_id"})
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	for _, r := range rows {
		_ = cw.Write([]string{
			r.Src.Addr().String(), strconv.Itoa(int(r.Src.Port())),
			r.Dst.Addr().String(), strconv.Itoa(int(r.Dst.Port())),
			fmt.Sprintf("0x%08X", r.SSRC), payload(r),
			strconv.FormatUint(r.Packets, 10), strconv.FormatInt(r.Lost, 10), f(lostPercent(r), 3),
			f(ms(r.MaxDeltaUS), 3), f(ms(r.JitterMaxUS), 3), f(ms(r.JitterMeanUS), 3),
			f(float64(r.MOSx1000)/1000, 3), string(r.CallID),
		})
	}
	cw.Flush()
	return cw.Error()
}

func compareReports(a, b *event.RTPReport) int {
	return cmp.Or(
		a.Src.Addr().Compare(b.Src.Addr()), cmp.Compare(a.Src.Port(), b.Src.Port()),
		a.Dst.Addr().Compare(b.Dst.Addr()), cmp.Compare(a.Dst.Port(), b.Dst.Port()),
		cmp.Compare(a.SSRC, b.SSRC), cmp.Compare(a.FirstUS, b.FirstUS),
		cmp.Compare(string(a.CallID), string(b.CallID)),
	)
}

func payload(r *event.RTPReport) string {
	if len(r.Codec) > 0 {
		return string(r.Codec)
	}
	return strconv.Itoa(int(r.PayloadType))
}

// lostPercent is tshark's: lost over expected, negative with duplicates.
func lostPercent(r *event.RTPReport) float64 {
	if r.Expected == 0 {
		return 0
	}
	return 100 * float64(r.Lost) / float64(r.Expected)
}

func ms(us uint32) float64 { return float64(us) / 1000 }
