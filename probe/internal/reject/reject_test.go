package reject

import (
	"errors"
	"fmt"
	"testing"
)

type why uint8

type rejection struct{ r why }

func (e *rejection) Error() string { return "rejected" }
func (e *rejection) Why() why      { return e.r }

func TestReasonOf(t *testing.T) {
	bad := &rejection{7}
	for _, c := range []struct {
		err  error
		want why
	}{
		{nil, 0},
		{bad, 7},
		{fmt.Errorf("frame 3: %w", bad), 7},
		{errors.New("elsewhere"), 0},
	} {
		if got := ReasonOf[why, *rejection](c.err, 0); got != c.want {
			t.Errorf("ReasonOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { ReasonOf[why, *rejection](bad, 0) }); n != 0 {
		t.Errorf("unwrapped rejection: %v allocs", n)
	}
}
