package cli

import (
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
)

// itemJSON is a get's outcome (GET /api/get, `kadnode get --json`).
type itemJSON struct {
	Target  string          `json:"target"`
	Found   bool            `json:"found"`
	Value   string          `json:"value,omitempty"` // the string, when the value is a bencoded string; else its bencoding
	Seq     int64           `json:"seq"`
	Key     string          `json:"key,omitempty"` // hex; mutable items only
	Sig     string          `json:"sig,omitempty"` // hex; mutable items only
	Holders int             `json:"holders"`
	Stats   lookupStatsJSON `json:"stats"`
}

// putJSON is a put's outcome (POST /api/put, `kadnode put --json`).
type putJSON struct {
	Target string         `json:"target"`
	Seq    int64          `json:"seq"`
	Stored int            `json:"stored"`
	Tried  int            `json:"tried"`
	Errors map[string]int `json:"errors,omitempty"` // refusals by KRPC error code
}

func toItemJSON(r node.GetResult) itemJSON {
	out := itemJSON{Target: r.Target.String(), Holders: r.Holders, Stats: lookupStatsJSON{
		Queries: r.Stats.Queries, Responses: r.Stats.Responses, Timeouts: r.Stats.Timeouts,
		Rounds: r.Stats.Rounds, DurationMs: millis(r.Stats.Duration),
	}}
	if it := r.Item; it != nil {
		out.Found, out.Value = true, valueText(it.V)
		if it.Mutable() {
			out.Seq, out.Key, out.Sig = it.Seq, hex.EncodeToString(it.K[:]), hex.EncodeToString(it.Sig[:])
		}
	}
	return out
}

func toPutJSON(r node.PutResult) putJSON {
	out := putJSON{Target: r.Target.String(), Stored: r.Stored, Tried: r.Tried}
	for code, n := range r.Errors {
		if out.Errors == nil {
			out.Errors = map[string]int{}
		}
		out.Errors[strconv.Itoa(code)] = n
	}
	return out
}

// valueText shows a bencoded value: the string itself for a bencoded
// string, which is what `kadnode put` stores, else the bencoding.
func valueText(v []byte) string {
	for i, c := range v {
		if c == ':' {
			if n, err := strconv.Atoi(string(v[:i])); err == nil && n == len(v)-i-1 {
				return string(v[i+1:])
			}
			break
		}
		if c < '0' || c > '9' {
			break
		}
	}
	return string(v)
}

// valueRoutes adds the BEP 44 routes, when the API has a node for them.
func (a *controlAPI) valueRoutes(mux *http.ServeMux) {
	if a.values == nil {
		return
	}
	mux.HandleFunc("GET /api/get", a.handleGet)
	mux.HandleFunc("POST /api/put", a.handlePut)
}

func (a *controlAPI) handleGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	target, err := parseTarget(q.Get("target"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	salt, err := hex.DecodeString(q.Get("salt"))
	if err != nil {
		writeError(w, http.StatusBadRequest, usageErrorf("salt is not hex: %v", err))
		return
	}
	res, err := a.values.GetItem(r.Context(), target, salt)
	if err != nil && res.Item == nil && !errors.Is(err, node.ErrNoContacts) {
		writeError(w, failureStatus(err), rpcFailure("get", target.String(), err))
		return
	}
	writeJSON(w, http.StatusOK, toItemJSON(res))
}

func (a *controlAPI) handlePut(w http.ResponseWriter, r *http.Request) {
	it, cas, err := parseItemQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	res, err := a.values.PutItem(r.Context(), it, cas)
	if err != nil {
		writeError(w, failureStatus(err), rpcFailure("put", res.Target.String(), err))
		return
	}
	out := toPutJSON(res)
	out.Seq = it.Seq
	writeJSON(w, http.StatusOK, out)
}

// parseItemQuery reads a signed item from the query that itemQuery wrote.
func parseItemQuery(r *http.Request) (kad.Item, int64, error) {
	q := r.URL.Query()
	var it kad.Item
	var err error
	if it.V, err = hex.DecodeString(q.Get("v")); err != nil || len(it.V) == 0 {
		return it, 0, usageErrorf(`"v" must be the bencoded value in hex`)
	}
	if q.Has("k") {
		k, kerr := hex.DecodeString(q.Get("k"))
		sig, serr := hex.DecodeString(q.Get("sig"))
		salt, terr := hex.DecodeString(q.Get("salt"))
		seq, qerr := strconv.ParseInt(q.Get("seq"), 10, 64)
		if kerr != nil || serr != nil || terr != nil || qerr != nil || len(k) != len(it.K) || len(sig) != len(it.Sig) {
			return it, 0, usageErrorf(`a mutable item needs "k" (32 bytes), "sig" (64 bytes) and "salt" in hex, and "seq"`)
		}
		copy(it.K[:], k)
		copy(it.Sig[:], sig)
		it.Salt, it.Seq = salt, seq
	}
	var cas int64
	if q.Has("cas") {
		if cas, err = strconv.ParseInt(q.Get("cas"), 10, 64); err != nil {
			return it, 0, usageErrorf(`"cas" must be an integer`)
		}
	}
	if e := it.Check(); e != nil {
		return it, 0, usageErrorf("item refused (BEP 44 code %d): %s", e.Code, e.Msg)
	}
	return it, cas, nil
}

// valuesCollector exports the node's BEP 44 counters.
type valuesCollector struct {
	stats                        func() node.ValueStats
	held, bytes, own, gets, puts *prometheus.Desc
	rejects                      *prometheus.Desc
}

func newValuesCollector(stats func() node.ValueStats) *valuesCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("kadnode_"+name, help, labels, nil)
	}
	return &valuesCollector{
		stats:   stats,
		held:    d("items_held", "BEP 44 items held for others."),
		bytes:   d("items_bytes", "Bytes of the values of the items held."),
		own:     d("items_own", "Items this node put and republishes."),
		gets:    d("item_gets_served_total", "BEP 44 get queries answered."),
		puts:    d("item_puts_served_total", "BEP 44 put queries that stored an item."),
		rejects: d("item_puts_rejected_total", "BEP 44 puts refused, by reason.", "reason"),
	}
}

// Describe implements prometheus.Collector.
func (c *valuesCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.held, c.bytes, c.own, c.gets, c.puts, c.rejects} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *valuesCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, float64(s.Held))
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(s.Bytes))
	ch <- prometheus.MustNewConstMetric(c.own, prometheus.GaugeValue, float64(s.Own))
	ch <- prometheus.MustNewConstMetric(c.gets, prometheus.CounterValue, float64(s.GetsServed))
	ch <- prometheus.MustNewConstMetric(c.puts, prometheus.CounterValue, float64(s.PutsServed))
	byLabel(ch, c.rejects, s.Rejects)
}

// statusValues is the values panel of the status page.
type statusValues struct {
	Held, Bytes, Own int
	Gets, Puts       uint64
	Rejects          string // "reason n, …", empty when none
}

func toStatusValues(s node.ValueStats) *statusValues {
	out := &statusValues{Held: s.Held, Bytes: s.Bytes, Own: s.Own, Gets: s.GetsServed, Puts: s.PutsServed}
	for _, r := range sortedKeys(s.Rejects) {
		if out.Rejects != "" {
			out.Rejects += ", "
		}
		out.Rejects += r + " " + strconv.FormatUint(s.Rejects[r], 10)
	}
	return out
}
