// Package node is the Kademlia node: the routing table (k-buckets with
// replacement caches and IP-diversity limits), the handlers of inbound
// ping and find_node queries, the iterative lookup, and the join, refresh,
// revalidation and offline-detection tasks.
//
// A node knows nothing about sockets or disks. It reaches the network
// through Transport, which wire implements over DTLS and testnet/sim in
// memory, and persists its table through Store, which store implements
// over Pebble. Every inbound query comes with the caller's authenticated
// ID and its UDP source address, so the caller goes into the table as it
// is, and no claimed address is ever trusted.
//
// State and locks: the Table owns the buckets under Table.mu, and its
// flusher writes changes to the store under Table.flushMu, which is always
// taken before Table.mu. The other mutexes (refresh times, external
// address votes, RTT estimate, offline detector) are leaves. A Node's
// maintenance (join, refresh, revalidation, values, NAT) runs as timed
// tasks from Start to Close, which hold a goroutine only while a run
// works; the table's flusher runs only while changes wait; lookups,
// liveness pings and probes start short-lived goroutines that end with
// their call. A node at rest holds no goroutine of its own. ARCHITECTURE.md at the repository root has the full map.
package node
