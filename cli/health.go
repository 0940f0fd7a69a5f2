package cli

import (
	"net/http"
	"time"

	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/store"
)

// Health endpoints in the Kubernetes convention: /healthz answers while
// the process serves at all, /readyz only while the node does its job
// (joined, its link up, its store writable), each check with its reason.
// They need no token, so that a probe needs no secret; they pass the Host
// check like every route.

// readyJSON is the answer of GET /readyz.
type readyJSON struct {
	Ready  bool                 `json:"ready"`
	Checks map[string]checkJSON `json:"checks"`
}

// checkJSON is one readiness check; Reason says what is wrong, or what
// was found when all is well.
type checkJSON struct {
	OK     bool      `json:"ok"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since,omitzero"`
}

// Names of the readiness checks.
const (
	checkJoined = "joined"
	checkSocket = "socket"
	checkStore  = "store"
)

// readinessNode is what the readiness checks read from the node.
type readinessNode interface {
	Self() node.SelfInfo
	Offline() bool
}

// readiness runs the checks of a node and its store.
func readiness(n readinessNode, listen string, st func() store.Health) readyJSON {
	out := readyJSON{Ready: true, Checks: map[string]checkJSON{}}
	add := func(name string, c checkJSON) {
		out.Checks[name] = c
		out.Ready = out.Ready && c.OK
	}
	if n.Self().Joined {
		add(checkJoined, checkJSON{OK: true, Reason: "bootstrap done"})
	} else {
		add(checkJoined, checkJSON{Reason: "joining: no seed or stored contact has answered yet"})
	}
	if n.Offline() {
		add(checkSocket, checkJSON{Reason: "the last calls all failed and no recent peer answers: UDP " + listen +
			" gets no replies; check the network"})
	} else {
		add(checkSocket, checkJSON{OK: true, Reason: "UDP " + listen})
	}
	h := st()
	if h.Err != nil {
		add(checkStore, checkJSON{Reason: h.Err.Error(), Since: h.Since})
	} else {
		add(checkStore, checkJSON{OK: true, Reason: "writable"})
	}
	return out
}

func (a *controlAPI) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *controlAPI) handleReadyz(w http.ResponseWriter, r *http.Request) {
	rd := a.ready()
	status := http.StatusOK
	if !rd.Ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, rd)
}
