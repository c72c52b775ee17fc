package rating

import (
	"bytes"
	"testing"
	"testing/fstest"
)

func BenchmarkLoadTariffPlan200k(b *testing.B) {
	var buf bytes.Buffer
	if err := GenerateDeckCSV(&buf, 200_000, 1); err != nil {
		b.Fatal(err)
	}
	d, err := LoadDeck(&buf, DeckOptions{})
	if err != nil {
		b.Fatal(err)
	}
	files := GenerateTariffPlan(d)
	m := fstest.MapFS{}
	for k, v := range files {
		m[k] = &fstest.MapFile{Data: v}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadTariffPlan(m, TariffPlanOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
