package cli

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/huin/goupnp/dcps/internetgateway2"
	natpmp "github.com/jackpal/go-nat-pmp"
)

// Port mapping, as geth's --nat does it: UPnP IGD through huin/goupnp,
// NAT-PMP through jackpal/go-nat-pmp. A mapped node is public.
const (
	portMapDiscovery   = 5 * time.Second // bounds finding and asking a gateway
	portMapLease       = time.Hour       // asked for; the gateway may give less
	portMapDescription = "kadnode"
	portMapRetry       = 5 * time.Minute // after a failed discovery or renewal
)

// portMapping is one UDP mapping on the gateway.
type portMapping struct {
	via      string         // "UPnP IGD" or "NAT-PMP"
	external netip.AddrPort // where the world reaches us
	lease    time.Duration  // renew at half of it
	renew    func(ctx context.Context) error
	remove   func(ctx context.Context) error
}

// igdClient is what the WANIPConnection and WANPPPConnection clients of
// goupnp share.
type igdClient interface {
	AddPortMappingCtx(ctx context.Context, remoteHost string, externalPort uint16, protocol string,
		internalPort uint16, internalClient string, enabled bool, description string, lease uint32) error
	DeletePortMappingCtx(ctx context.Context, remoteHost string, externalPort uint16, protocol string) error
	GetExternalIPAddressCtx(ctx context.Context) (string, error)
}

// mapPort maps UDP port on the gateway by mode (auto tries UPnP, then
// NAT-PMP).
func mapPort(ctx context.Context, mode string, port uint16) (*portMapping, error) {
	var errs []error
	if mode == natAuto || mode == natUPnP {
		m, err := mapUPnP(ctx, port)
		if err == nil {
			return m, nil
		}
		errs = append(errs, fmt.Errorf("UPnP IGD: %w", err))
	}
	if mode == natAuto || mode == natPMP {
		m, err := mapPMP(port)
		if err == nil {
			return m, nil
		}
		errs = append(errs, fmt.Errorf("NAT-PMP: %w", err))
	}
	return nil, errors.Join(errs...)
}

func mapUPnP(ctx context.Context, port uint16) (*portMapping, error) {
	var clients []igdClient
	var locals []net.IP
	if cs, _, err := internetgateway2.NewWANIPConnection2ClientsCtx(ctx); err == nil {
		for _, c := range cs {
			clients, locals = append(clients, c), append(locals, c.LocalAddr())
		}
	}
	if cs, _, err := internetgateway2.NewWANIPConnection1ClientsCtx(ctx); err == nil {
		for _, c := range cs {
			clients, locals = append(clients, c), append(locals, c.LocalAddr())
		}
	}
	if cs, _, err := internetgateway2.NewWANPPPConnection1ClientsCtx(ctx); err == nil {
		for _, c := range cs {
			clients, locals = append(clients, c), append(locals, c.LocalAddr())
		}
	}
	if len(clients) == 0 {
		return nil, errors.New("no Internet gateway device answered on the LAN")
	}
	var errs []error
	for i, c := range clients {
		ipStr, err := c.GetExternalIPAddressCtx(ctx)
		ip, perr := netip.ParseAddr(ipStr)
		if err != nil || perr != nil {
			errs = append(errs, fmt.Errorf("external address %q: %w", ipStr, errors.Join(err, perr)))
			continue
		}
		internal := locals[i].String()
		add := func(ctx context.Context, lease time.Duration) error {
			return c.AddPortMappingCtx(ctx, "", port, "UDP", port, internal, true, portMapDescription, uint32(lease/time.Second))
		}
		lease := portMapLease
		if err := add(ctx, lease); err != nil {
			// Some gateways take only permanent mappings (lease 0).
			if lease = 0; add(ctx, 0) != nil {
				errs = append(errs, fmt.Errorf("adding the mapping: %w", err))
				continue
			}
		}
		return &portMapping{
			via: "UPnP IGD", external: netip.AddrPortFrom(ip.Unmap(), port), lease: lease,
			renew:  func(ctx context.Context) error { return add(ctx, lease) },
			remove: func(ctx context.Context) error { return c.DeletePortMappingCtx(ctx, "", port, "UDP") },
		}, nil
	}
	return nil, errors.Join(errs...)
}

func mapPMP(port uint16) (*portMapping, error) {
	gw, err := defaultGateway()
	if err != nil {
		return nil, err
	}
	c := natpmp.NewClientWithTimeout(gw.AsSlice(), portMapDiscovery)
	ext, err := c.GetExternalAddress()
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %w", gw, err)
	}
	res, err := c.AddPortMapping("udp", int(port), int(port), int(portMapLease/time.Second))
	if err != nil {
		return nil, fmt.Errorf("gateway %s: adding the mapping: %w", gw, err)
	}
	extPort := res.MappedExternalPort
	return &portMapping{
		via:      "NAT-PMP",
		external: netip.AddrPortFrom(netip.AddrFrom4(ext.ExternalIPAddress), extPort),
		lease:    time.Duration(res.PortMappingLifetimeInSeconds) * time.Second,
		renew: func(context.Context) error {
			_, err := c.AddPortMapping("udp", int(port), int(extPort), int(portMapLease/time.Second))
			return err
		},
		remove: func(context.Context) error {
			_, err := c.AddPortMapping("udp", int(port), 0, 0) // lifetime 0 deletes (RFC 6886)
			return err
		},
	}, nil
}

// defaultGateway reads the IPv4 default route from /proc/net/route.
func defaultGateway() (netip.Addr, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return netip.Addr{}, fmt.Errorf("finding the default gateway: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 || fs[1] != "00000000" {
			continue
		}
		v, err := strconv.ParseUint(fs[2], 16, 32)
		if err != nil {
			continue
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(v)) // the kernel prints it in host order
		return netip.AddrFrom4(b), nil
	}
	return netip.Addr{}, errors.New("no IPv4 default route, so no gateway to ask")
}

// portMapper finds a gateway in the background, keeps the mapping renewed
// and removes it on stop; the node learns the mapped address through set.
type portMapper struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startPortMapper(mode string, port uint16, set func(netip.AddrPort), log *slog.Logger) *portMapper {
	ctx, cancel := context.WithCancel(context.Background())
	p := &portMapper{cancel: cancel}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.run(ctx, mode, port, set, log)
	}()
	return p
}

func (p *portMapper) run(ctx context.Context, mode string, port uint16, set func(netip.AddrPort), log *slog.Logger) {
	var m *portMapping
	defer func() {
		if m != nil {
			rctx, cancel := context.WithTimeout(context.Background(), portMapDiscovery)
			defer cancel()
			if err := m.remove(rctx); err != nil {
				log.Warn("removing the port mapping", "via", m.via, "err", err)
			}
		}
	}()
	for {
		wait := portMapRetry
		if m == nil {
			dctx, cancel := context.WithTimeout(ctx, portMapDiscovery)
			var err error
			m, err = mapPort(dctx, mode, port)
			cancel()
			if err != nil {
				m = nil
				log.Info("no port mapping; reachability checks and hole punching take over", "nat", mode, "err", err)
			} else {
				log.Info("port mapped", "via", m.via, "external", m.external, "lease", m.lease)
				set(m.external)
			}
		} else if err := m.renew(ctx); err != nil {
			log.Warn("renewing the port mapping failed; retrying later", "via", m.via, "err", err)
		}
		if m != nil && m.lease > 0 {
			wait = m.lease / 2
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// stop ends the renewals and removes the mapping.
func (p *portMapper) stop() {
	p.cancel()
	p.wg.Wait()
}
