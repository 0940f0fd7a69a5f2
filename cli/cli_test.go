package cli

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines leaked: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func TestIntersperseMovesFlagsBeforeArguments(t *testing.T) {
	app := newApp(nil, nil)
	for _, tc := range []struct{ in, want []string }{
		{
			in:   []string{"kadnode", "lookup", "ID", "--api", "127.0.0.1:1", "--json"},
			want: []string{"kadnode", "lookup", "--api", "127.0.0.1:1", "--json", "--", "ID"},
		},
		{
			in:   []string{"kadnode", "ping", "--json", "C", "--api=x:1"},
			want: []string{"kadnode", "ping", "--json", "--api=x:1", "--", "C"},
		},
		{ // after "--" everything is an argument
			in:   []string{"kadnode", "lookup", "--", "--json"},
			want: []string{"kadnode", "lookup", "--", "--json"},
		},
		{ // unknown commands are left to the app's error
			in:   []string{"kadnode", "nosuch", "x", "--json"},
			want: []string{"kadnode", "nosuch", "x", "--json"},
		},
		{
			in:   []string{"kadnode", "nodes", "--json"},
			want: []string{"kadnode", "nodes", "--json"},
		},
	} {
		if got := intersperse(app, tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("intersperse(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestUsageErrorsExit2 checks every command-line mistake the daemon and the
// client commands can meet before touching the network: exit status 2 and a
// message that names the problem and the fix.
func TestUsageErrorsExit2(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no command", nil, []string{"no command given", "kadnode run"}},
		{"unknown command", []string{"frobnicate"}, []string{`unknown command "frobnicate"`, "kadnode --help"}},
		{"unknown flag", []string{"nodes", "--frob"}, []string{"flag provided but not defined", "kadnode nodes --help"}},
		{"bad seed", []string{"run", "--seed", "nonsense"}, []string{`bad contact "nonsense"`, "ID@host:port"}},
		{"seed without port", []string{"run", "--seed", "127.0.0.1"}, []string{"has no port"}},
		{"bad listen", []string{"run", "--listen", "4114"}, []string{`--listen "4114" is not host:port`}},
		{"public api without token", []string{"run", "--api", "0.0.0.0:4115"}, []string{"--api 0.0.0.0:4115 can be reached from other machines", "--api-token"}},
		{"k zero", []string{"run", "--k", "0"}, []string{"--k must be at least 1"}},
		{"prepare-ahead negative", []string{"run", "--prepare-ahead", "-1"}, []string{"--prepare-ahead must be 0 (off) or more, got -1"}},
		{"bad log level", []string{"run", "--log-level", "loud"}, []string{`--log-level "loud"`, "debug, info, warn or error"}},
		{"bad log format", []string{"run", "--log-format", "xml"}, []string{`--log-format "xml"`, "text or json"}},
		{"run with argument", []string{"run", "extra"}, []string{"takes no arguments"}},
		{"lookup without target", []string{"lookup"}, []string{"needs a target node ID"}},
		{"lookup bad ID", []string{"lookup", "abc"}, []string{`bad node ID "abc"`, "40 hex digits", "kadnode id"}},
		{"lookup bad hex", []string{"lookup", "zz11111111111111111111111111111111111111"}, []string{"not hexadecimal"}},
		{"lookup zero ID", []string{"lookup", "0000000000000000000000000000000000000000"}, []string{"the all-zero ID cannot be looked up"}},
		{"lookup bad seed", []string{"lookup", "--seed", "1.2.3.4", "1111111111111111111111111111111111111111"}, []string{`bad contact "1.2.3.4"`}},
		{"lookup two targets", []string{"lookup", "a", "b"}, []string{"takes one target node ID, got 2"}},
		{"lookup zero timeout", []string{"lookup", "--timeout", "0s", "1111111111111111111111111111111111111111"}, []string{"--timeout must be positive"}},
		{"ping without contact", []string{"ping"}, []string{"needs a contact"}},
		{"ping bad contact", []string{"ping", "host:port"}, []string{`bad contact "host:port"`}},
		{"add bad contact", []string{"add", "[::1:4114"}, []string{`bad contact "[::1:4114"`}},
		{"api with scheme", []string{"nodes", "--api", "http://127.0.0.1:4115"}, []string{"without a scheme"}},
		{"empty api", []string{"nodes", "--api", ""}, []string{"--api is empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantExit(t, runCLI(t, tc.args...), exitUsage, tc.want...)
		})
	}
}

func TestEnvTwinsSetFlags(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("KADNODE_SEED", "127.0.0.1:1,bogus")
	wantExit(t, runCLI(t, "run"), exitUsage, `bad contact "bogus"`)

	// KADNODE_SEED configures run only: a lookup still asks the API.
	fn := newFakeNode(time.Now())
	r := runCLI(t, "lookup", testID(0x91).String(), "--api", startFakeAPI(t, fn, ""))
	wantExit(t, r, exitOK)
	if len(fn.targets) != 1 {
		t.Errorf("with KADNODE_SEED set, lookup did not go through the API (stdout %q)", r.stdout)
	}

	t.Setenv("KADNODE_SEED", "")
	t.Setenv("KADNODE_API", "192.0.2.1:4115")
	wantExit(t, runCLI(t, "run"), exitUsage, "--api 192.0.2.1:4115 can be reached from other machines")
}

func TestDefaultDataDir(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/xdg")
	if got := defaultDataDir(); got != "/xdg/kadnode" {
		t.Errorf("with XDG_DATA_HOME: %q", got)
	}
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "/home/op")
	if got := defaultDataDir(); got != "/home/op/.local/share/kadnode" {
		t.Errorf("with HOME: %q", got)
	}
}

func TestIDCreatesKeyAndIsStable(t *testing.T) {
	dir := t.TempDir()
	first := runCLI(t, "id", "--data-dir", dir)
	wantExit(t, first, exitOK)
	if len(first.stdout) != 41 {
		t.Fatalf("id printed %q, want 40 hex digits and a newline", first.stdout)
	}
	if again := runCLI(t, "id", "--data-dir", dir); again.stdout != first.stdout {
		t.Errorf("second id %q differs from first %q", again.stdout, first.stdout)
	}
}

func TestUnusableDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(file, "kadnode")
	wantExit(t, runCLI(t, "id", "--data-dir", dir), exitFailure, "--data-dir "+dir+" must be a directory this user can write")
	wantExit(t, runCLI(t, "run", "--data-dir", dir, "--listen", "127.0.0.1:0", "--api", ""), exitFailure,
		"--data-dir "+dir+" must be a directory")
}

// TestClientReportsUnreachableAPI: a closed port gives exit 1 and tells the
// operator to start the node with that --api.
func TestClientReportsUnreachableAPI(t *testing.T) {
	addr := closedTCPAddr(t)
	for _, args := range [][]string{
		{"nodes", "--api", addr},
		{"lookup", "--api", addr, "1111111111111111111111111111111111111111"},
		{"ping", "--api", addr, "127.0.0.1:9"},
		{"add", "--api", addr, "127.0.0.1:9"},
	} {
		wantExit(t, runCLI(t, args...), exitFailure, "cannot reach the control API at "+addr,
			"is `kadnode run` running with --api "+addr+"?")
	}
}

// closedTCPAddr returns a loopback address nothing listens on.
func closedTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestCheckAPIBind(t *testing.T) {
	for _, tc := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:4115", "", true},
		{"[::1]:4115", "", true},
		{"localhost:4115", "", true},
		{"0.0.0.0:4115", "", false},
		{":4115", "", false},
		{"192.0.2.7:4115", "", false},
		{"0.0.0.0:4115", "s3cret", true},
		{"127.0.0.1", "", false},
	} {
		if err := checkAPIBind(tc.addr, tc.token); (err == nil) != tc.ok {
			t.Errorf("checkAPIBind(%q, %q) = %v, want ok=%v", tc.addr, tc.token, err, tc.ok)
		}
	}
}
