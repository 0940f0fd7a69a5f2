package node

import (
	"net/netip"

	"github.com/kadnode/kadnode/kad"
)

// subnetOf returns the /24 (IPv6 /64) that the diversity limits count addr
// under, and false when addr is exempt from them.
func (t *Table) subnetOf(addr netip.Addr) (netip.Prefix, bool) {
	addr = addr.Unmap()
	if !t.cfg.LimitPrivate && (addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast()) {
		return netip.Prefix{}, false
	}
	bits := SubnetBitsIPv6
	if addr.Is4() {
		bits = SubnetBitsIPv4
	}
	p, err := addr.Prefix(bits)
	return p, err == nil
}

// subnetAllows reports whether bucket b may take one more entry at addr.
// The limits count members and replacements alike, so promoting a
// replacement never breaks them.
func (t *Table) subnetAllows(b *bucket, addr netip.Addr) bool {
	p, limited := t.subnetOf(addr)
	if !limited {
		return true
	}
	if limit := t.cfg.TableSubnetLimit; limit > 0 && t.subnets[p] >= limit {
		return false
	}
	limit := t.cfg.BucketSubnetLimit
	if limit <= 0 {
		return true
	}
	n := 0
	for _, list := range [2][]kad.Contact{b.members, b.replacements} {
		for i := range list {
			if q, ok := t.subnetOf(list[i].Addr.Addr()); ok && q == p {
				n++
			}
		}
	}
	return n < limit
}

// sameSubnet reports whether moving from a to b leaves the counts as they are.
func (t *Table) sameSubnet(a, b netip.Addr) bool {
	p, limitedA := t.subnetOf(a)
	q, limitedB := t.subnetOf(b)
	return limitedA == limitedB && p == q
}

// addSubnet and dropSubnet keep the table-wide count per subnet.
func (t *Table) addSubnet(addr netip.Addr) {
	if p, ok := t.subnetOf(addr); ok {
		t.subnets[p]++
	}
}

func (t *Table) dropSubnet(addr netip.Addr) {
	if p, ok := t.subnetOf(addr); ok {
		if t.subnets[p]--; t.subnets[p] <= 0 {
			delete(t.subnets, p)
		}
	}
}
