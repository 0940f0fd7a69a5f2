package netns

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// NeighbourTable writes permanent neighbour (ARP and NDP) entries for one
// interface of one namespace, over a netlink socket opened inside that
// namespace. A rig of n namespaces that all talk to each other needs n²
// entries; one `ip neigh` process per entry made setting up a hundred
// namespaces take far longer than the network under test ran.
//
// The socket holds a reference to its namespace: Close it before the
// namespace is deleted, or the namespace outlives its name.
type NeighbourTable struct {
	fd      int
	ifindex int32
	seq     uint32
	buf     []byte
}

// OpenNeighbourTable opens the neighbour table of interface dev in the
// namespace at nsPath.
func OpenNeighbourTable(nsPath, dev string) (*NeighbourTable, error) {
	t := &NeighbourTable{fd: -1}
	err := Do(nsPath, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		t.ifindex = int32(ifi.Index)
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("netlink socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("binding a netlink socket: %w", err)
		}
		t.fd = fd
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("neighbour table of %s in %s: %w", dev, nsPath, err)
	}
	return t, nil
}

// Set makes a permanent entry: ip is at mac on this interface. It
// replaces an entry for ip that exists, as `ip neigh replace … nud
// permanent` does. Permanent entries are never garbage-collected and do
// not count against the kernel's gc_thresh limits.
func (t *NeighbourTable) Set(ip netip.Addr, mac net.HardwareAddr) error {
	t.seq++
	if err := unix.Send(t.fd, t.newNeigh(ip, mac), 0); err != nil {
		return fmt.Errorf("setting neighbour %s: %w", ip, err)
	}
	return t.ack(ip)
}

// newNeigh builds an RTM_NEWNEIGH request: the netlink header, an ndmsg,
// then the destination and link-layer address attributes.
func (t *NeighbourTable) newNeigh(ip netip.Addr, mac net.HardwareAddr) []byte {
	ip = ip.Unmap()
	family := uint8(unix.AF_INET6)
	if ip.Is4() {
		family = unix.AF_INET
	}
	b := t.buf[:0]
	b = append(b, make([]byte, unix.SizeofNlMsghdr)...) // filled in below
	b = append(b, family, 0, 0, 0)                      // ndm_family, pads
	b = binary.NativeEndian.AppendUint32(b, uint32(t.ifindex))
	b = binary.NativeEndian.AppendUint16(b, unix.NUD_PERMANENT)
	b = append(b, 0, 0) // ndm_flags, ndm_type
	b = appendAttr(b, unix.NDA_DST, ip.AsSlice())
	b = appendAttr(b, unix.NDA_LLADDR, mac)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], unix.RTM_NEWNEIGH)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_REPLACE)
	ne.PutUint32(b[8:], t.seq)
	ne.PutUint32(b[12:], 0) // the kernel fills in our port id
	t.buf = b
	return b
}

// appendAttr appends one route attribute, padded to 4 bytes.
func appendAttr(b []byte, typ uint16, data []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(unix.SizeofRtAttr+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%unix.NLMSG_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

// ack reads the kernel's answer to request t.seq: an NLMSG_ERROR message
// whose error is 0 on success or a negated errno.
func (t *NeighbourTable) ack(ip netip.Addr) error {
	var rb [512]byte
	for {
		n, _, err := unix.Recvfrom(t.fd, rb[:], 0)
		if err != nil {
			return fmt.Errorf("setting neighbour %s: reading the answer: %w", ip, err)
		}
		for m := rb[:n]; len(m) >= unix.SizeofNlMsghdr; {
			ne := binary.NativeEndian
			l, typ, seq := ne.Uint32(m[0:]), ne.Uint16(m[4:]), ne.Uint32(m[8:])
			if l < unix.SizeofNlMsghdr || int(l) > len(m) {
				return fmt.Errorf("setting neighbour %s: a malformed netlink answer", ip)
			}
			if typ == unix.NLMSG_ERROR && seq == t.seq && l >= unix.SizeofNlMsghdr+4 {
				if errno := int32(ne.Uint32(m[unix.SizeofNlMsghdr:])); errno != 0 {
					return fmt.Errorf("setting neighbour %s: %w", ip, unix.Errno(-errno))
				}
				return nil
			}
			m = m[min(int(l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1), len(m)):]
		}
	}
}

// Close closes the socket, releasing the namespace.
func (t *NeighbourTable) Close() error {
	if t.fd < 0 {
		return nil
	}
	err := unix.Close(t.fd)
	t.fd = -1
	return err
}
