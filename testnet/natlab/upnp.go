package natlab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// miniupnpd's nftables backend adds its rules to chains it expects to
// exist; these are the lab's, jumped to from hooks of their own.
const miniupnpdRules = `table inet kn_upnp {
	chain forward { type filter hook forward priority 0; policy accept; jump forward_upnp; }
	chain forward_upnp { }
	chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_upnp; }
	chain prerouting_upnp { }
	chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_upnp; }
	chain postrouting_upnp { }
}
`

const miniupnpdConf = `ext_ifname=wan
listening_ip=lan
http_port=0
enable_upnp=yes
enable_natpmp=yes
secure_mode=yes
system_uptime=yes
uuid=6e0e6f1c-0b38-4b7a-9d1e-%012x
upnp_table_name=kn_upnp
upnp_nat_table_name=kn_upnp
upnp_forward_chain=forward_upnp
upnp_nat_chain=prerouting_upnp
upnp_nat_postrouting_chain=postrouting_upnp
allow 1024-65535 192.168.0.0/16 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
`

// MiniUPnPd runs Debian's miniupnpd (UPnP IGD and NAT-PMP) on the
// router's LAN side until the test ends. It skips the test when
// miniupnpd is not installed.
func (r *Router) MiniUPnPd() {
	t := r.Lab.t
	t.Helper()
	bin, err := exec.LookPath("miniupnpd")
	if err != nil {
		t.Skip("needs miniupnpd (apt-get install miniupnpd)")
	}
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.nft")
	conf := filepath.Join(dir, "miniupnpd.conf")
	if err := os.WriteFile(rules, []byte(miniupnpdRules), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(miniupnpdConf, r.lanNo)), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Lab.run("ip", "netns", "exec", r.NS, "nft", "-f", rules)
	logs := &syncBuffer{}
	cmd := exec.Command("ip", "netns", "exec", r.NS, bin, "-d", "-f", conf, "-P", filepath.Join(dir, "miniupnpd.pid"))
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("miniupnpd on %s:\n%s", r.Name, tail(logs.String(), 40))
		}
	})
	select {
	case <-done:
		t.Fatalf("miniupnpd exited at once:\n%s", logs)
	case <-time.After(500 * time.Millisecond):
	}
}
