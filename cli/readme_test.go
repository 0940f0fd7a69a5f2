package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMECommands runs every command in the README's sh blocks, in
// order, in a fresh directory: `kadnode run` lines as background nodes
// (waiting for each to print its contact and, with --api, to join), the
// others to completion with exit status 0. Ports shown in the README are
// replaced by free ones; `go build` and `go run .` use the binary the
// tests built; `make test` is checked with `make -n`, since running the
// tests from within the tests would recurse.
func TestREADMECommands(t *testing.T) {
	bin := kadnodeBinary(t)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := shellLines(string(readme))
	if len(lines) < 6 {
		t.Fatalf("found %d commands in the README's sh blocks: %q", len(lines), lines)
	}
	dir := t.TempDir()
	ports := freePortsFor(t, lines)
	ran := map[string]bool{}
	for _, line := range lines {
		cmd := ports.Replace(line)
		t.Logf("$ %s", cmd)
		switch {
		case cmd == "make test":
			out, err := exec.Command("make", "-C", "..", "-n", "test").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "go test") {
				t.Errorf("make -n test: %v\n%s", err, out)
			}
		case cmd == "go build -o kadnode .":
			copyFile(t, bin, filepath.Join(dir, "kadnode"))
		case cmd == "go run . run":
			readmeDefaultRun(t, bin)
		case strings.HasPrefix(cmd, "./kadnode run "):
			d := &daemonProc{}
			c := exec.Command("sh", "-c", "exec "+cmd)
			c.Dir = dir
			d.launch(t, c)
			if m := regexp.MustCompile(`--api (\S+)`).FindStringSubmatch(cmd); m != nil {
				waitFor(t, "the node at "+m[1]+" to join", func() bool { return apiJoined(m[1]) })
			}
		case strings.HasPrefix(cmd, "./kadnode "):
			c := exec.Command("sh", "-c", cmd)
			c.Dir = dir
			out, err := c.CombinedOutput()
			if err != nil {
				t.Fatalf("README command %q: %v\n%s", cmd, err, out)
			}
			if strings.Contains(cmd, " lookup ") && !strings.HasPrefix(string(out), "found ") {
				t.Errorf("README lookup %q did not find its target:\n%s", cmd, out)
			}
		default:
			t.Errorf("README command %q is not exercised; teach this test to run it", cmd)
		}
		ran[strings.Fields(cmd)[1]] = true
	}
	for _, want := range []string{"run", "build", "test", "lookup", "nodes"} {
		if !ran[want] {
			t.Errorf("the README shows no %q command", want)
		}
	}
}

// readmeDefaultRun runs `kadnode run` with no flags, as the README's first
// command does, with only the ports and the data home moved through the
// environment, and checks that it keeps its key in the default data dir.
func readmeDefaultRun(t *testing.T, bin string) {
	t.Helper()
	home := t.TempDir()
	d := &daemonProc{listen: freeUDPAddr(t)}
	c := exec.Command(bin, "run")
	c.Env = append(os.Environ(), "XDG_DATA_HOME="+home, "KADNODE_LISTEN="+d.listen, "KADNODE_API="+freeTCPAddr(t))
	d.launch(t, c)
	if !strings.HasSuffix(d.contact, "@"+d.listen) {
		t.Errorf("`kadnode run` printed %q, want a contact at %s", d.contact, d.listen)
	}
	if _, err := os.Stat(filepath.Join(home, "kadnode", "node.key")); err != nil {
		t.Errorf("`kadnode run` did not keep its key in the default data dir: %v", err)
	}
	if code := d.stop(); code != exitOK {
		t.Errorf("`kadnode run` exited %d after SIGTERM\n%s", code, d.logs)
	}
}

// shellLines returns the commands of the ```sh blocks of a Markdown text,
// with backslash continuations joined.
func shellLines(md string) []string {
	var out []string
	in, cont := false, ""
	for _, l := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(l, "```sh"):
			in = true
		case strings.HasPrefix(l, "```"):
			in = false
		case in && strings.HasSuffix(l, "\\"):
			cont += strings.TrimSuffix(l, "\\")
		case in && strings.TrimSpace(cont+l) != "":
			out = append(out, strings.Join(strings.Fields(cont+l), " "))
			cont = ""
		}
	}
	return out
}

// freePortsFor maps each loopback address of the README to a free one of
// the right kind: TCP after --api, UDP elsewhere.
func freePortsFor(t *testing.T, lines []string) *strings.Replacer {
	t.Helper()
	all := regexp.MustCompile(`127\.0\.0\.1:\d+`)
	api := regexp.MustCompile(`--api (127\.0\.0\.1:\d+)`)
	isAPI := map[string]bool{}
	for _, l := range lines {
		for _, m := range api.FindAllStringSubmatch(l, -1) {
			isAPI[m[1]] = true
		}
	}
	seen := map[string]bool{}
	var pairs []string
	for _, l := range lines {
		for _, addr := range all.FindAllString(l, -1) {
			if seen[addr] {
				continue
			}
			seen[addr] = true
			free := freeUDPAddr(t)
			if isAPI[addr] {
				free = freeTCPAddr(t)
			}
			pairs = append(pairs, addr, free)
		}
	}
	return strings.NewReplacer(pairs...)
}

// apiJoined reports whether the control API at addr answers that its node
// has joined.
func apiJoined(addr string) bool {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/api/self")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var s selfJSON
	return json.NewDecoder(resp.Body).Decode(&s) == nil && s.Joined
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err == nil {
		err = os.WriteFile(to, data, 0o755)
	}
	if err != nil {
		t.Fatal(fmt.Errorf("copying %s: %w", from, err))
	}
}
