// Command natrouter puts a node of the docker testnet behind a home
// router. The images are FROM scratch, with no shell, ip(8) or nft(8), so
// it does over netlink what testnet/natlab does with ip and iptables:
//
//	natrouter gateway -lan 10.214.0.0/24
//
// makes its container a router for the LAN: it masquerades the LAN's
// packets out of the other interface (Linux MASQUERADE: the port is kept
// where it can be, and conntrack lets in only replies from the address and
// port a LAN host sent to) and drops unsolicited packets to the router
// itself, as a home router's firewall does. It then waits for SIGTERM.
//
//	natrouter client -via 10.214.0.2 -- /kadnode run ...
//
// routes its container's traffic through the router at -via, drops root,
// and runs the command.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "gateway":
		err = gatewayCmd(os.Args[2:])
	case "client":
		err = clientCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "natrouter:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: natrouter gateway -lan PREFIX | natrouter client -via IP [-uid N -gid N] -- COMMAND [ARG...]")
	os.Exit(2)
}

func gatewayCmd(args []string) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	lanFlag := fs.String("lan", "", "the LAN's prefix, e.g. 10.214.0.0/24")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lan, err := netip.ParsePrefix(*lanFlag)
	if err != nil {
		return fmt.Errorf("-lan %q: %v; want a prefix such as 10.214.0.0/24", *lanFlag, err)
	}
	if err := enableForwarding(); err != nil {
		return err
	}
	wan, err := wanInterface(lan)
	if err != nil {
		return err
	}
	if err := masquerade(wan); err != nil {
		return fmt.Errorf("setting up masquerading out of %s: %w", wan, err)
	}
	fmt.Printf("natrouter: masquerading %s out of %s; unsolicited packets to %s dropped\n", lan, wan, wan)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	return nil
}

// enableForwarding turns IPv4 forwarding on. In a container /proc/sys is
// read-only, so compose sets it (sysctls); this only checks it then.
func enableForwarding() error {
	const path = "/proc/sys/net/ipv4/ip_forward"
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 && b[0] == '1' {
		return nil
	}
	if err := os.WriteFile(path, []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("IPv4 forwarding is off and cannot be turned on (%v); give the container the sysctl net.ipv4.ip_forward=1", err)
	}
	return nil
}

// wanInterface is the interface with an IPv4 address outside lan: the
// router's side of the public network.
func wanInterface(lan netip.Prefix) (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	var wan string
	var lanSeen bool
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			return "", err
		}
		for _, a := range addrs {
			p, err := netip.ParsePrefix(a.String())
			switch {
			case err != nil || !p.Addr().Is4():
			case lan.Contains(p.Addr()):
				lanSeen = true
			case wan == "":
				wan = ifc.Name
			}
		}
	}
	switch {
	case !lanSeen:
		return "", fmt.Errorf("no interface has an address in the LAN %s; attach the container to the LAN network", lan)
	case wan == "":
		return "", errors.New("no interface has an IPv4 address outside the LAN; attach the container to the public network too")
	}
	return wan, nil
}

func clientCmd(args []string) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	via := fs.String("via", "", "the router's LAN address")
	uid := fs.Int("uid", 65532, "user to run the command as")
	gid := fs.Int("gid", 65532, "group to run the command as")
	if err := fs.Parse(args); err != nil {
		return err
	}
	gw, err := netip.ParseAddr(*via)
	if err != nil || !gw.Is4() {
		return fmt.Errorf("-via %q: want the router's IPv4 address", *via)
	}
	cmd := fs.Args()
	if len(cmd) == 0 {
		return errors.New("no command to run after --")
	}
	if err := routeVia(gw); err != nil {
		return fmt.Errorf("default route via %s: %w (the container needs NET_ADMIN)", gw, err)
	}
	if err := syscall.Setgroups(nil); err != nil {
		return err
	}
	if err := syscall.Setgid(*gid); err != nil {
		return err
	}
	if err := syscall.Setuid(*uid); err != nil {
		return err
	}
	return syscall.Exec(cmd[0], cmd, os.Environ())
}
