package cli

import (
	"log/slog"
	"net/netip"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/kadnode/kadnode/node"
)

// NAT modes of `kadnode run --nat`, as geth spells them.
const (
	natAuto  = "auto"  // try UPnP IGD, then NAT-PMP; fall back to hole punching
	natNone  = "none"  // no port mapping; reachability checks and hole punching only
	natUPnP  = "upnp"  // UPnP IGD only
	natPMP   = "pmp"   // NAT-PMP only
	natExtIP = "extip" // extip:IP, the operator's word that IP:port reaches us
)

func natFlags() []ucli.Flag {
	return []ucli.Flag{
		stringFlag("nat", natAuto, "port mapping `MODE`: auto, none, upnp, pmp or extip:IP (the node is reachable at IP and the listen port)"),
		durationFlag("nat-keepalive", node.DefaultNATKeepalive, "behind a NAT, re-register with each rendezvous contact every `DURATION` (keep it below the NAT's UDP timeout)"),
	}
}

// natConfig is --nat and --nat-keepalive, checked.
type natConfig struct {
	mode      string
	extIP     netip.Addr
	keepalive time.Duration
}

func parseNATConfig(c *ucli.Context) (natConfig, error) {
	n := natConfig{mode: c.String("nat"), keepalive: c.Duration("nat-keepalive")}
	if ip, ok := strings.CutPrefix(n.mode, natExtIP+":"); ok {
		addr, err := netip.ParseAddr(ip)
		if err != nil || addr.IsUnspecified() || addr.IsMulticast() {
			return n, usageErrorf("--nat %q: %q is not a usable IP address (e.g. extip:203.0.113.7)", n.mode, ip)
		}
		n.mode, n.extIP = natExtIP, addr.Unmap()
		return n, nil
	}
	switch n.mode {
	case natAuto, natNone, natUPnP, natPMP:
	default:
		return n, usageErrorf("--nat %q is not a mode; give auto, none, upnp, pmp or extip:IP", n.mode)
	}
	if n.keepalive <= 0 {
		return n, usageErrorf("--nat-keepalive must be positive, e.g. 25s")
	}
	return n, nil
}

// nodeNAT is the node's NAT configuration for a socket bound at listen.
func (n natConfig) nodeNAT(listen netip.AddrPort) node.NATConfig {
	cfg := node.NATConfig{Enabled: true, Keepalive: n.keepalive}
	switch {
	case n.extIP.IsValid():
		cfg.Mapped = netip.AddrPortFrom(n.extIP, listen.Port())
	case listen.Addr().IsLoopback():
		// No NAT stands between loopback peers: the bound address is the
		// one every peer sees, so the node is public from the start and
		// its first queries already get it inserted.
		cfg.Mapped = listen
	}
	return cfg
}

// startPortMapper starts port mapping for the socket at listen, unless
// the mode asks for none or the socket is bound to loopback (nobody
// outside could use a mapping); nil then.
func (n natConfig) startPortMapper(listen netip.AddrPort, set func(netip.AddrPort), log *slog.Logger) *portMapper {
	if listen.Addr().IsLoopback() {
		return nil
	}
	switch n.mode {
	case natAuto, natUPnP, natPMP:
		return startPortMapper(n.mode, listen.Port(), set, log)
	}
	return nil
}
