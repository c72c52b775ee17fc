package dashboards

import (
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// The generated JSON decodes strictly into the SDK's dashboard model (no
// unknown or mistyped fields).
func TestSDKStrictDecode(t *testing.T) {
	for _, d := range generate(t).Dashboards {
		var m dashboard.Dashboard
		// The SDK returns an empty cog.BuildErrors, not nil, on success.
		err := m.UnmarshalJSONStrict(d.JSON)
		if be, ok := err.(cog.BuildErrors); (ok && len(be) > 0) || (!ok && err != nil) {
			t.Errorf("%s: %v", d.UID, err)
			continue
		}
		if len(m.Panels) < 4 || m.Uid == nil || *m.Uid != d.UID {
			t.Errorf("%s: %d panels", d.UID, len(m.Panels))
		}
	}
}
