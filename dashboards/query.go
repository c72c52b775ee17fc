// Package dashboards generates trunkscope's Grafana dashboards, their
// provisioning files and Grafana alert rules (grafana-foundation-sdk), runs
// every panel's SQL against ClickHouse the way the ClickHouse datasource
// plugin would (check), and pushes the result to a Grafana server (push).
//
// Panel SQL is written for the grafana-clickhouse-datasource plugin in SQL
// editor mode. It uses only the plugin macros $__timeFilter, $__fromTime,
// $__toTime and $__interval_s: $__timeInterval expands to
// toStartOfInterval and the _ms macros to fromUnixTimestamp64Milli, which
// ClickHouse 18.16 does not have.
package dashboards

import (
	"reflect"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// PluginID is the ClickHouse datasource plugin's type.
const PluginID = "grafana-clickhouse-datasource"

// Format is the plugin's result format (sqlutil's FormatQueryOption).
type Format int

const (
	FormatTimeSeries Format = 0
	FormatTable      Format = 1
)

// Query is the ClickHouse plugin's query model in SQL editor mode: the
// SDK has no ClickHouse query type, so this implements its generic
// dataquery variant. Field order is the JSON order (stable bytes).
type Query struct {
	RefID      string                `json:"refId"`
	Datasource *common.DataSourceRef `json:"datasource,omitempty"`
	EditorType string                `json:"editorType"`
	QueryType  string                `json:"queryType"`
	Format     Format                `json:"format"`
	RawSQL     string                `json:"rawSql"`
}

func (q Query) ImplementsDataqueryVariant() {}
func (q Query) DataqueryType() string       { return PluginID }
func (q Query) Validate() error             { return nil }
func (q Query) Equals(o variants.Dataquery) bool {
	oq, ok := o.(Query)
	return ok && reflect.DeepEqual(q, oq)
}

// queryBuilder makes Query a cog.Builder for panels' WithTarget.
type queryBuilder struct{ q Query }

func (b queryBuilder) Build() (variants.Dataquery, error) { return b.q, nil }

var _ cog.Builder[variants.Dataquery] = queryBuilder{}

func newQuery(ds common.DataSourceRef, f Format, sql string) queryBuilder {
	qt := "table"
	if f == FormatTimeSeries {
		qt = "timeSeries"
	}
	return queryBuilder{Query{RefID: "A", Datasource: &ds, EditorType: "sql", QueryType: qt, Format: f, RawSQL: sql}}
}
