package cli

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
)

// controlNode is what the control API needs from a node; *node.Node has it.
type controlNode interface {
	Self() node.SelfInfo
	Nodes() []node.ContactStatus
	Lookup(ctx context.Context, target krpc.ID) (node.LookupResult, error)
	Ping(ctx context.Context, c kad.Endpoint) (kad.Peer, time.Duration, error)
	Add(ctx context.Context, c kad.Endpoint) (kad.Peer, error)
}

// controlAPI serves the JSON control API, /metrics and the status page.
type controlAPI struct {
	node    controlNode
	network string
	token   string // when set, every request needs "Authorization: Bearer <token>"
	host    string // host of --api, accepted in Host (see guard.go)
	now     func() time.Time
	metrics http.Handler
	status  *statusPage
	log     *slog.Logger
	ready   func() readyJSON
	// persist waits until the node handed its changes to the store and
	// returns why the store did not keep them; nil when it did.
	persist func() error
	values  valueNode // BEP 44 routes; nil leaves them out
}

// routes is the API's handler.
func (a *controlAPI) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/self", a.handleSelf)
	mux.HandleFunc("GET /api/nodes", a.handleNodes)
	mux.HandleFunc("GET /api/lookup", a.handleLookup)
	mux.HandleFunc("POST /api/ping", a.handlePing)
	mux.HandleFunc("POST /api/add", a.handleAdd)
	a.valueRoutes(mux)
	if a.metrics != nil {
		mux.Handle("GET /metrics", a.metrics)
	}
	if a.status != nil {
		mux.Handle("GET /{$}", a.status)
	}
	open := http.NewServeMux()
	open.HandleFunc("GET /healthz", a.handleHealthz)
	open.HandleFunc("GET /readyz", a.handleReadyz)
	open.Handle("/", a.authorize(mux))
	return a.guard(open)
}

func (a *controlAPI) handleSelf(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, toSelfJSON(a.node.Self(), a.network, a.now()))
}

func (a *controlAPI) handleNodes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, toNodesJSON(a.node.Nodes()))
}

func (a *controlAPI) handleLookup(w http.ResponseWriter, r *http.Request) {
	target, err := parseTarget(r.URL.Query().Get("target"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	res, err := a.node.Lookup(r.Context(), target)
	if err != nil {
		writeError(w, failureStatus(err), rpcFailure("lookup", target.String(), err))
		return
	}
	writeJSON(w, http.StatusOK, toLookupJSON(res))
}

func (a *controlAPI) handlePing(w http.ResponseWriter, r *http.Request) {
	a.withContact(w, r, "ping", func(c kad.Endpoint) (peerJSON, error) {
		p, rtt, err := a.node.Ping(r.Context(), c)
		return toPeerJSON(p, rtt), err
	})
}

func (a *controlAPI) handleAdd(w http.ResponseWriter, r *http.Request) {
	a.withContact(w, r, "add", func(c kad.Endpoint) (peerJSON, error) {
		p, err := a.node.Add(r.Context(), c)
		if err != nil {
			return peerJSON{}, err
		}
		return a.added(p), nil
	})
}

// withContact runs op on the request's contact parameter and answers.
func (a *controlAPI) withContact(w http.ResponseWriter, r *http.Request, what string, op func(kad.Endpoint) (peerJSON, error)) {
	arg := r.URL.Query().Get("contact")
	c, err := parseContact(arg)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	out, err := op(c)
	if err != nil {
		writeError(w, failureStatus(err), rpcFailure(what, arg, err))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// added describes a contact the operator added, with where it now sits.
func (a *controlAPI) added(p kad.Peer) peerJSON {
	out := toPeerJSON(p, 0)
	for _, ci := range a.node.Nodes() {
		if ci.ID == p.ID {
			out.State = ci.State
		}
	}
	if a.persist != nil {
		err := a.persist()
		saved := err == nil
		out.Persisted = &saved
		if err != nil {
			out.Warning = "kept in memory only, not saved: " + err.Error()
		}
	}
	a.log.Info("contact added by operator", "id", p.ID, "addr", p.Addr, "state", out.State)
	return out
}

// failureStatus is the HTTP status for a node operation that failed.
func failureStatus(err error) int {
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = printJSON(w, v) // fails only when the client went away
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, errorJSON{Error: err.Error()})
}
