package cli

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kadnode/kadnode/node"
)

// natCollector exports the node's NAT state: which reachability it holds
// (one gauge per state, 1 for the current one), client mode, and the
// rendezvous and hole-punching counters.
type natCollector struct {
	stats                              func() node.Stats
	reach, client, rendezvous, clients *prometheus.Desc
	punches, relays, dialBacks         *prometheus.Desc
	selfLookups, punchesSkipped        *prometheus.Desc
}

func newNATCollector(stats func() node.Stats) *natCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("kadnode_nat_"+name, help, labels, nil)
	}
	return &natCollector{
		stats:          stats,
		reach:          d("reachability", "1 for the node's current reachability (public, nat, symmetric, unknown), 0 for the others.", "state"),
		client:         d("client_mode", "1 when the node runs as a read-only client because it cannot be reached."),
		rendezvous:     d("rendezvous", "Contacts this node is registered with as a rendezvous client."),
		clients:        d("rendezvous_clients", "NAT'd nodes registered with this node."),
		punches:        d("punches_total", "Hole punches this node made on a relayed request, by outcome.", "outcome"),
		relays:         d("relays_total", "Rendezvous requests this node relayed."),
		dialBacks:      d("dial_backs_total", "Reachability dial-backs this node made for others."),
		punchesSkipped: d("punches_skipped_total", "NAT'd contacts this node's lookups passed over because no punch works behind its symmetric NAT."),
		selfLookups:    d("self_lookups_total", "Lookups of the node's own ID made behind a NAT to keep its rendezvous among the closest nodes."),
	}
}

// Describe implements prometheus.Collector.
func (c *natCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.reach, c.client, c.rendezvous, c.clients, c.punches, c.relays, c.dialBacks, c.selfLookups, c.punchesSkipped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector; nothing when NAT handling is off.
func (c *natCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats().NAT
	if !s.Enabled {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, st := range []node.Reachability{node.ReachUnknown, node.ReachPublic, node.ReachNAT, node.ReachSymmetric} {
		gauge(c.reach, boolFloat(s.Reachability == st), string(st))
	}
	gauge(c.client, boolFloat(s.ClientMode))
	gauge(c.rendezvous, float64(s.Rendezvous))
	gauge(c.clients, float64(s.Clients))
	counter(c.punches, s.PunchesOK, "ok")
	counter(c.punches, s.PunchesFailed, "failed")
	counter(c.punches, s.PunchesDiscounted, "discounted")
	counter(c.relays, s.Relays)
	counter(c.dialBacks, s.DialBacks)
	counter(c.selfLookups, s.SelfLookups)
	counter(c.punchesSkipped, s.PunchesSkipped)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
