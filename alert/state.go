package alert

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Phase of one rule and trunk.
type Phase string

const (
	Inactive Phase = "inactive"
	Pending  Phase = "pending"
	Firing   Phase = "firing"
)

// Instance is the state of one rule on one trunk.
type Instance struct {
	Rule  string `json:"rule"`
	Trunk string `json:"trunk"`
	Phase Phase  `json:"phase"`
	// ActiveAt is when the condition became true (pending began).
	ActiveAt time.Time `json:"active_at,omitzero"`
	// FiredAt is when it went firing; LastTrue the last evaluation whose
	// condition held; ResolvedAt when the last firing ended.
	FiredAt    time.Time `json:"fired_at,omitzero"`
	LastTrue   time.Time `json:"last_true,omitzero"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Figures of the last evaluation whose condition held.
	Value   float64           `json:"value"`
	Figures map[string]string `json:"figures,omitempty"`
}

// State is every instance and the event time evaluated up to. It is saved
// after each run, so a restarted evaluator neither re-fires nor forgets.
type State struct {
	LastEval  time.Time            `json:"last_eval,omitzero"`
	Instances map[string]*Instance `json:"instances"`
}

func key(rule, trunk string) string { return rule + "\x00" + trunk }

// LoadState reads a state file; a missing file is an empty state.
func LoadState(path string) (*State, error) {
	s := &State{Instances: map[string]*Instance{}}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("alert: state: %w", err)
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("alert: state %s: %w", path, err)
	}
	if s.Instances == nil {
		s.Instances = map[string]*Instance{}
	}
	return s, nil
}

// Save writes the state atomically (a crash leaves the old or the new
// file, never half of one).
func (s *State) Save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("alert: state: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("alert: state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("alert: state: %w", err)
	}
	return nil
}

// Transition is a change a notifier hears about.
type Transition struct {
	Instance Instance
	To       Phase // Firing, or Inactive for resolved
	At       time.Time
}

// Resolved reports whether the transition ends a firing alert.
func (t Transition) Resolved() bool { return t.To == Inactive }

// step applies one evaluation at time at. cond is whether the condition
// held; the returned transition is non-nil when the alert fired or
// resolved. Pending never notifies: a condition that clears before For
// leaves no trace (no flapping), and a firing alert resolves only after
// its condition has been false for KeepFiringFor.
func (in *Instance) step(r Rule, at time.Time, cond bool, value float64, figures map[string]string) *Transition {
	if cond {
		in.LastTrue, in.Value, in.Figures = at, value, figures
	}
	switch in.Phase {
	case Inactive, "":
		if !cond {
			in.Phase = Inactive
			return nil
		}
		in.Phase, in.ActiveAt = Pending, at
		fallthrough
	case Pending:
		if !cond {
			in.Phase, in.ActiveAt = Inactive, time.Time{}
			return nil
		}
		if at.Sub(in.ActiveAt) >= r.For {
			in.Phase, in.FiredAt, in.ResolvedAt = Firing, at, time.Time{}
			return &Transition{Instance: *in, To: Firing, At: at}
		}
	case Firing:
		if !cond && at.Sub(in.LastTrue) >= r.KeepFiringFor {
			in.Phase, in.ResolvedAt, in.ActiveAt = Inactive, at, time.Time{}
			return &Transition{Instance: *in, To: Inactive, At: at}
		}
	}
	return nil
}
