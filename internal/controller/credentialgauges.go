package controller

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/types"
)

// credentialGauges serves the per-credential gauges (the token's expiry,
// its refresh due time and Ready) from one small map entry per credential.
// A GaugeVec keeps a metric object, its label pairs and a hash bucket per
// series, about 450 bytes each, three times per credential: 13 MB of live
// heap at 10,000 credentials. Here a credential costs its key and 24 bytes;
// the series are built only while Prometheus scrapes.
type credentialGauges struct {
	expiryDesc, refreshDesc, readyDesc *prometheus.Desc

	mu      sync.RWMutex
	samples map[types.NamespacedName]credentialSample
}

// credentialSample is what the gauges say of one credential.
type credentialSample struct {
	// expiry is the token's expiry in Unix seconds, when hasExpiry.
	expiry int64
	// refresh is when the operator is due to replace that token, in Unix
	// seconds, when hasRefresh. The alerts measure how overdue a refresh
	// is against it and expiry; the expiry alone cannot tell a healthy
	// 5-minute token from a stuck 1-hour one.
	refresh    int64
	hasExpiry  bool
	hasRefresh bool
	ready      bool
}

// gaugeDesc names and documents one of the per-credential gauges.
type gaugeDesc struct{ name, help string }

func newCredentialGauges(expiry, refresh, ready gaugeDesc) *credentialGauges {
	labels := []string{"namespace", "name"}
	return &credentialGauges{
		expiryDesc:  prometheus.NewDesc(expiry.name, expiry.help, labels, nil),
		refreshDesc: prometheus.NewDesc(refresh.name, refresh.help, labels, nil),
		readyDesc:   prometheus.NewDesc(ready.name, ready.help, labels, nil),
		samples:     map[types.NamespacedName]credentialSample{},
	}
}

func (g *credentialGauges) set(key types.NamespacedName, s credentialSample) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.samples[key] = s
}

func (g *credentialGauges) delete(key types.NamespacedName) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.samples, key)
}

// Describe implements prometheus.Collector.
func (g *credentialGauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.expiryDesc
	ch <- g.refreshDesc
	ch <- g.readyDesc
}

// Collect implements prometheus.Collector: the expiry and the refresh due
// time of each credential that has them, and Ready of each. The registry sorts the series.
func (g *credentialGauges) Collect(ch chan<- prometheus.Metric) {
	type entry struct {
		key types.NamespacedName
		credentialSample
	}
	g.mu.RLock()
	entries := make([]entry, 0, len(g.samples))
	for k, s := range g.samples {
		entries = append(entries, entry{k, s})
	}
	g.mu.RUnlock()
	for _, e := range entries {
		if e.hasExpiry {
			ch <- &credentialGauge{desc: g.expiryDesc, key: e.key, value: float64(e.expiry)}
		}
		if e.hasRefresh {
			ch <- &credentialGauge{desc: g.refreshDesc, key: e.key, value: float64(e.refresh)}
		}
		value := 0.0
		if e.ready {
			value = 1
		}
		ch <- &credentialGauge{desc: g.readyDesc, key: e.key, value: value}
	}
}

// The label names, shared by every series; nothing writes to them.
var nameLabel, namespaceLabel = "name", "namespace"

// credentialGauge is one series, made at scrape time: a gauge labelled with
// the credential's namespace and name.
type credentialGauge struct {
	desc  *prometheus.Desc
	key   types.NamespacedName
	value float64
}

func (m *credentialGauge) Desc() *prometheus.Desc { return m.desc }

// Write implements prometheus.Metric; label pairs go sorted by name.
func (m *credentialGauge) Write(out *dto.Metric) error {
	out.Label = []*dto.LabelPair{
		{Name: &nameLabel, Value: &m.key.Name},
		{Name: &namespaceLabel, Value: &m.key.Namespace},
	}
	out.Gauge = &dto.Gauge{Value: &m.value}
	return nil
}
