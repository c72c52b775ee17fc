package probe

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/trunkscope/trunkscope/probe/pcapfile"
)

// checkEvery is how many packets ReadFile processes between looks at ctx
// and calls to progress: often enough to stop within a millisecond or so,
// rarely enough to cost nothing per packet.
const checkEvery = 4096

// ReadFile replays a pcap or pcapng file through p as fast as it can,
// passing events to sink. progress, if not nil, is called now and then and
// at the end with the bytes read so far and the file's size. ReadFile stops
// at the first sink error (a Sink that would rather carry on counts its
// failures and returns nil) and when ctx is done.
func ReadFile(ctx context.Context, path string, p *Probe, sink Sink, progress func(read, total int64)) error {
	r, err := pcapfile.Open(path)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer r.Close()
	for n := 1; ; n++ {
		if (n-1)%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("probe: replay %s: %w", path, err)
			}
			if progress != nil {
				progress(r.Offset(), r.Size())
			}
		}
		data, tsUS, lt, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("probe: replay: %w", err)
		}
		if err := p.Packet(lt, tsUS, data, sink); err != nil {
			return fmt.Errorf("%w (%s, packet %d)", err, path, n)
		}
	}
	if progress != nil {
		progress(r.Offset(), r.Size())
	}
	return nil
}
