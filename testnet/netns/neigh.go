package netns

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NeighbourTable writes permanent neighbour (ARP and NDP) entries for one
// interface of one namespace, over a netlink handle opened inside that
// namespace. A rig of n namespaces that all talk to each other needs n²
// entries; one `ip neigh` process per entry made setting up a hundred
// namespaces take far longer than the network under test ran.
//
// The handle's socket holds a reference to its namespace: Close it before
// the namespace is deleted, or the namespace outlives its name.
type NeighbourTable struct {
	h       *netlink.Handle
	ifindex int
}

// OpenNeighbourTable opens the neighbour table of interface dev in the
// namespace at nsPath.
func OpenNeighbourTable(nsPath, dev string) (*NeighbourTable, error) {
	ns, err := vnetns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("neighbour table of %s in %s: %w", dev, nsPath, err)
	}
	defer ns.Close() // the handle's socket keeps the namespace
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("neighbour table of %s in %s: netlink: %w", dev, nsPath, err)
	}
	link, err := h.LinkByName(dev)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("neighbour table of %s in %s: %w", dev, nsPath, err)
	}
	return &NeighbourTable{h: h, ifindex: link.Attrs().Index}, nil
}

// Set makes a permanent entry: ip is at mac on this interface. It
// replaces an entry for ip that exists, as `ip neigh replace … nud
// permanent` does. Permanent entries are never garbage-collected and do
// not count against the kernel's gc_thresh limits.
func (t *NeighbourTable) Set(ip netip.Addr, mac net.HardwareAddr) error {
	ip = ip.Unmap()
	family := netlink.FAMILY_V6
	if ip.Is4() {
		family = netlink.FAMILY_V4
	}
	err := t.h.NeighSet(&netlink.Neigh{
		LinkIndex: t.ifindex, Family: family, State: netlink.NUD_PERMANENT,
		IP: ip.AsSlice(), HardwareAddr: mac,
	})
	if err != nil {
		return fmt.Errorf("setting neighbour %s: %w", ip, err)
	}
	return nil
}

// Close closes the handle, releasing the namespace.
func (t *NeighbourTable) Close() error {
	if t.h != nil {
		t.h.Close()
		t.h = nil
	}
	return nil
}
