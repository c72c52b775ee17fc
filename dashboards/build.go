package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Generated is one dashboard's JSON model.
type Generated struct {
	UID, Title string
	JSON       []byte
}

// Build renders every dashboard with the foundation SDK. The output is a
// pure function of o: same options, same bytes.
func Build(o Options) ([]Generated, error) {
	o = o.withDefaults()
	var out []Generated
	for _, d := range Specs(o) {
		b, err := buildOne(o, d)
		if err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", d.UID, err)
		}
		out = append(out, Generated{UID: d.UID, Title: d.Title, JSON: b})
	}
	return out, nil
}

// datasource is the reference every panel, variable and rule uses.
func datasource(uid string) common.DataSourceRef {
	t := PluginID
	return common.DataSourceRef{Type: &t, Uid: &uid}
}

func buildOne(o Options, d Dashboard) ([]byte, error) {
	ds := datasource(o.DatasourceUID)
	b := dashboard.NewDashboardBuilder(d.Title).
		Uid(d.UID).
		Description(d.Description).
		Tags(d.Tags).
		Timezone("utc").
		Time("now-6h", "now").
		Refresh("1m").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Editable().
		Link(dashboard.NewDashboardLinkBuilder("trunkscope").
			Type(dashboard.DashboardLinkTypeDashboards).Tags([]string{"trunkscope"}).
			AsDropdown(true).IncludeVars(true).KeepTime(true))
	for _, v := range d.Variables {
		b = b.WithVariable(variable(ds, v))
	}
	x, y, rowH := uint32(0), uint32(0), uint32(0)
	for i, p := range d.Panels {
		w, h := uint32(p.Width), uint32(p.Height)
		if x+w > 24 {
			x, y, rowH = 0, y+rowH, 0
		}
		pos := dashboard.GridPos{X: x, Y: y, W: w, H: h}
		x += w
		rowH = max(rowH, h)
		pb, err := panel(ds, p, uint32(i+1), pos)
		if err != nil {
			return nil, fmt.Errorf("panel %q: %w", p.Title, err)
		}
		b = b.WithPanel(pb)
	}
	m, err := b.Build()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func variable(ds common.DataSourceRef, v Variable) cog.Builder[dashboard.VariableModel] {
	if v.Query != "" {
		q := dashboard.StringOrMap{Map: map[string]any{"rawSql": v.Query, "editorType": "sql", "format": int(FormatTable), "queryType": "table", "refId": "A"}}
		qv := dashboard.NewQueryVariableBuilder(v.Name).Label(v.Label).Datasource(ds).Query(q).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc).Definition(v.Query)
		if v.IncludeA {
			qv = qv.IncludeAll(true).AllValue(allValue)
		}
		return qv
	}
	vals := strings.Join(v.Values, ",")
	cv := dashboard.NewCustomVariableBuilder(v.Name).Label(v.Label).Values(dashboard.StringOrMap{String: &vals})
	if v.IncludeA {
		cv = cv.IncludeAll(true).AllValue(allValue)
	}
	return cv
}

func thresholds(steps []Step) *dashboard.ThresholdsConfigBuilder {
	var ts []dashboard.Threshold
	for _, s := range steps {
		ts = append(ts, dashboard.Threshold{Value: s.Value, Color: s.Color})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(ts)
}

// panel builds the visualisation with its kind's builder; the options all
// kinds share are set on the built model.
func panel(ds common.DataSourceRef, p Panel, id uint32, pos dashboard.GridPos) (cog.Builder[dashboard.Panel], error) {
	q := newQuery(ds, p.Format, p.SQL)
	var built dashboard.Panel
	var err error
	switch p.Kind {
	case kindTable:
		built, err = table.NewPanelBuilder().Title(p.Title).Datasource(ds).WithTarget(q).CellHeight(common.TableCellHeightSm).Build()
	case kindTimeSeries:
		built, err = timeseries.NewPanelBuilder().Title(p.Title).Datasource(ds).WithTarget(q).
			FillOpacity(10).LineWidth(1).Interval("1m").MaxDataPoints(500).Build()
	case kindBarChart:
		built, err = barchart.NewPanelBuilder().Title(p.Title).Datasource(ds).WithTarget(q).
			XField(p.Columns[0]).Orientation(common.VizOrientationAuto).Build()
	case kindStat:
		built, err = stat.NewPanelBuilder().Title(p.Title).Datasource(ds).WithTarget(q).Build()
	default:
		return nil, fmt.Errorf("unknown panel kind %q", p.Kind)
	}
	if err != nil {
		return nil, err
	}
	built.Id = &id
	built.GridPos = &pos
	if p.Description != "" {
		built.Description = &p.Description
	}
	if built.FieldConfig == nil {
		built.FieldConfig = dashboard.NewFieldConfigSource()
	}
	if p.Unit != "" {
		built.FieldConfig.Defaults.Unit = &p.Unit
	}
	if len(p.Thresholds) > 0 {
		t, _ := thresholds(p.Thresholds).Build()
		built.FieldConfig.Defaults.Thresholds = &t
	}
	for _, fld := range p.Fields {
		var props []dashboard.DynamicConfigValue
		if fld.Unit != "" {
			props = append(props, dashboard.DynamicConfigValue{Id: "unit", Value: fld.Unit})
		}
		if len(fld.Thresholds) > 0 {
			t, _ := thresholds(fld.Thresholds).Build()
			props = append(props, dashboard.DynamicConfigValue{Id: "thresholds", Value: t},
				dashboard.DynamicConfigValue{Id: "custom.cellOptions", Value: map[string]any{"type": "color-background"}})
		}
		built.FieldConfig.Overrides = append(built.FieldConfig.Overrides, dashboard.DashboardFieldConfigSourceOverrides{
			Matcher: dashboard.MatcherConfig{Id: "byName", Options: fld.Name}, Properties: props})
	}
	if p.Link != "" {
		built.FieldConfig.Overrides = append(built.FieldConfig.Overrides, dashboard.DashboardFieldConfigSourceOverrides{
			Matcher: dashboard.MatcherConfig{Id: "byName", Options: p.Columns[0]},
			Properties: []dashboard.DynamicConfigValue{{Id: "links", Value: []map[string]any{
				{"title": "SIP ladder", "url": p.Link, "targetBlank": true}}}}})
	}
	return built2builder{built}, nil
}

// built2builder hands an already built panel to the dashboard builder.
type built2builder struct{ p dashboard.Panel }

func (b built2builder) Build() (dashboard.Panel, error) { return b.p, nil }
