package promtext

import (
	"fmt"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Series returns the label sets (name to value) of the series of the
// metric family name in exposition whose labels include labels, given as
// for [Sum]; none when the family is not exposed. A histogram's or a
// summary's series is counted once, by the labels of its family, not its
// buckets or quantiles.
func Series(exposition, name string, labels ...string) ([]map[string]string, error) {
	if len(labels)%2 != 0 {
		return nil, fmt.Errorf("series %s: labels %q are not name, value pairs", name, labels)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(exposition))
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", name, err)
	}
	var out []map[string]string
	for _, m := range families[name].GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		s := make(map[string]string, len(m.GetLabel()))
		for _, lp := range m.GetLabel() {
			s[lp.GetName()] = lp.GetValue()
		}
		out = append(out, s)
	}
	return out, nil
}
