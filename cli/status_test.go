package cli

import (
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kadnode/kadnode/node"
)

// statusFixture is a fake node with a varied table and a few lookups.
func statusFixture(t *testing.T) *fakeNode {
	t.Helper()
	fn := newFakeNode(time.Now())
	for b := 140; b < 160; b++ {
		for i := 0; i < (b-138)%21; i++ {
			fn.nodes = append(fn.nodes, node.ContactStatus{ID: testID(byte(b)), Addr: fn.peer.Addr, Bucket: b, State: "bucket"})
		}
	}
	fn.nodes = append(fn.nodes, node.ContactStatus{ID: testID(1), Addr: fn.peer.Addr, Bucket: 158, State: "replacement"})
	fn.lookups.observe(fn.lookup)
	miss := fn.lookup
	miss.Found, miss.Target = false, testID(0x77)
	fn.lookups.observe(miss)
	return fn
}

func TestStatusPageRenders(t *testing.T) {
	fn := statusFixture(t)
	status, body := request(t, "GET", "http://"+startFakeAPI(t, fn, "")+"/", "")
	if status != 200 {
		t.Fatalf("GET / = %d", status)
	}
	for _, want := range []string{
		fn.self.ID.String(),
		fn.self.Contact,
		"up 1h30m0s",
		"joined",
		"<svg",
		"bucket 159: ", // a bar's tooltip
		"2 waiting",    // bucket 159's fake replacement plus the fixture's
		testID(0x77).String(),
		"not found",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
}

// TestStatusPageInBrowser renders the status page in headless Chromium and
// checks the screenshot shows the bucket bars. Set KADNODE_SCREENSHOT to a
// file name to keep the screenshot.
func TestStatusPageInBrowser(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		t.Skip("chromium is not installed (Debian: apt-get install chromium); skipping the browser test of the status page")
	}
	url := "http://" + startFakeAPI(t, statusFixture(t), "") + "/"
	dir := t.TempDir()
	shot := filepath.Join(dir, "status.png")

	dom := runChromium(t, browser, dir, "--dump-dom", url)
	if !strings.Contains(dom, "Routing table") || !strings.Contains(dom, "<rect") {
		t.Fatalf("browser DOM lacks the routing table picture:\n%s", dom)
	}
	runChromium(t, browser, dir, "--screenshot="+shot, "--window-size=1200,900", url)

	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Errorf("screenshot is %v, want 1200x900", b)
	}
	if n := countColor(img, 0x25, 0x63, 0xeb); n < 500 {
		t.Errorf("screenshot has %d pixels of the bar colour, want the bucket bars drawn", n)
	}
	if keep := os.Getenv("KADNODE_SCREENSHOT"); keep != "" {
		data, err := os.ReadFile(shot)
		if err == nil {
			err = os.WriteFile(keep, data, 0o644)
		}
		if err != nil {
			t.Errorf("keeping the screenshot: %v", err)
		}
		shot = keep
	}
	t.Logf("status page screenshot: %s", shot)
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// runChromium runs one headless Chromium command with a private profile,
// with background networking off so it talks only to the test's server.
func runChromium(t *testing.T, browser, dir string, args ...string) string {
	t.Helper()
	return runChromiumVia(t, nil, browser, dir, args...)
}

// runChromiumVia runs Chromium through a wrapper command, e.g. ip netns
// exec NAME.
func runChromiumVia(t *testing.T, via []string, browser, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir=" + filepath.Join(dir, "profile"),
		"--no-first-run", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--disable-default-apps", "--disable-extensions",
	}
	argv := append(append(via[:len(via):len(via)], browser), append(base, args...)...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// Chromium forks helpers; kill the whole group if it hangs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// countColor counts the pixels of img within a small distance of r, g, b.
func countColor(img image.Image, r, g, b uint8) int {
	near := func(x uint32, want uint8) bool {
		d := int(x>>8) - int(want)
		return d > -12 && d < 12
	}
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(pr, r) && near(pg, g) && near(pb, b) {
				n++
			}
		}
	}
	return n
}
