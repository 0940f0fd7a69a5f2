package stack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/store"
	"github.com/kadnode/kadnode/wire"
)

func openTest(t *testing.T, cfg Config) *Stack {
	t.Helper()
	if cfg.Network == "" {
		cfg.Network = "kn-stack-test"
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestStacksJoinOverDTLSAndKeepTheirIdentity opens a seed and a node on
// disk, joins them over real DTLS, then reopens the node's data dir: it
// comes back with the same ID and its stored contact.
func TestStacksJoinOverDTLSAndKeepTheirIdentity(t *testing.T) {
	seed := openTest(t, Config{DataDir: t.TempDir()})
	seed.Node.Start()
	dir := t.TempDir()
	a, err := Open(Config{DataDir: dir, Network: "kn-stack-test", Listen: "127.0.0.1:0",
		Node: node.Config{Seeds: []kad.Endpoint{kad.EndpointOf(seed.Identity.ID, seed.Transport.LocalAddr())}}})
	if err != nil {
		t.Fatal(err)
	}
	a.Node.Start()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.Node.WaitJoined(ctx); err != nil {
		a.Close()
		t.Fatal(err)
	}
	id := a.Identity.ID
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{wire.KeyFileName, TableDir} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("data dir lacks %s: %v", f, err)
		}
	}
	again := openTest(t, Config{DataDir: dir})
	if again.Identity.ID != id {
		t.Errorf("reopened with ID %x, want %x", again.Identity.ID, id)
	}
	if got := again.Node.Nodes(); len(got) != 1 || got[0].ID != seed.Identity.ID {
		t.Errorf("reopened table %+v, want the seed alone", got)
	}
}

// TestThrowawayStackWritesNothing opens a stack without a data dir: a
// fresh identity each time and no files.
func TestThrowawayStackWritesNothing(t *testing.T) {
	cwd, _ := os.Getwd()
	before, _ := os.ReadDir(cwd)
	a, b := openTest(t, Config{}), openTest(t, Config{})
	if a.Identity.ID == b.Identity.ID {
		t.Error("two throwaway stacks share an identity")
	}
	after, _ := os.ReadDir(cwd)
	if len(after) != len(before) {
		t.Errorf("a throwaway stack wrote into %s", cwd)
	}
}

// TestFailedOpenSaysWhichPartAndReleasesTheRest binds a port that is
// taken: the error names the socket, and the store it had opened is
// closed again (its lock is free).
func TestFailedOpenSaysWhichPartAndReleasesTheRest(t *testing.T) {
	taken := openTest(t, Config{})
	dir := t.TempDir()
	_, err := Open(Config{DataDir: dir, Network: "kn-stack-test", Listen: taken.Transport.LocalAddr().String()})
	var se *Error
	if !errors.As(err, &se) || se.Part != PartListen {
		t.Fatalf("Open on a taken port: %v, want a stack.Error for the socket", err)
	}
	st, err := store.Open(filepath.Join(dir, TableDir), store.Options{Network: "kn-stack-test"})
	if err != nil {
		t.Fatalf("store still locked after the failed Open: %v", err)
	}
	st.Close()
}

// TestHooksSeeTheFilledConfigs checks that Wire gets the node's RPC
// timeout (one source for both) and Store the stack's network.
func TestHooksSeeTheFilledConfigs(t *testing.T) {
	var wc wire.Config
	var so store.Options
	openTest(t, Config{
		Node:  node.Config{RPCTimeout: 3 * time.Second},
		Wire:  func(c *wire.Config) { wc = *c },
		Store: func(o *store.Options) { so = *o },
	})
	if wc.RPCTimeout != 3*time.Second {
		t.Errorf("transport RPC timeout %v, want the node's 3s", wc.RPCTimeout)
	}
	if so.Network != "kn-stack-test" || !so.InMemory {
		t.Errorf("store options %+v, want the network and an in-memory table", so)
	}
	var def wire.Config
	openTest(t, Config{Wire: func(c *wire.Config) { def = *c }})
	if def.RPCTimeout != node.DefaultRPCTimeout {
		t.Errorf("default transport RPC timeout %v, want node.DefaultRPCTimeout %v", def.RPCTimeout, node.DefaultRPCTimeout)
	}
}
