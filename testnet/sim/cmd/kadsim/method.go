package main

// method explains how the figures in RESULTS.md were made; kadsim writes it
// above the tables so that a redrawn file keeps it.
const method = `## Simulated networks (testnet/sim)

The unchanged node code (node.New, its join, lookups, table and handlers)
runs on an in-memory transport: every node is a sim.Endpoint at its own
127.x.y.z address, and its identity is the ID the simulation assigns (no
certificates: it stands for the DTLS-authenticated ID). A query is handled
in the caller's goroutine, so the transport adds no goroutines. Each pair
of nodes has its own round-trip time, drawn once (uniformly from -rtt,
20–300 ms by default); a query to a failed node, or a lost datagram, costs
the RPC timeout (kadnode's 1 s by default).

Everything runs in virtual time: kadsim runs inside a testing/synctest
bubble (it builds its own test binary and runs TestKadsim), whose clock
jumps ahead whenever every goroutine is waiting. The node's timers, the
latencies and the timeouts therefore cost no wall-clock time, only the CPU
of the messages; "latency" is the lookup's duration in that virtual time,
and build times are given both in wall-clock and in simulated time.

Nodes join 256 at a time, each seeded with a random node that has already
joined; measuring starts once no find_node query has crossed the network
for 300 ms. Each phase runs lookups from random live nodes: half for random
IDs, which succeed when the k contacts returned are exactly the k live
nodes nearest the target by XOR distance (found by scanning every node,
the querying one left out), and half for IDs of other live nodes, which
succeed when the node is found at its address. "rounds" is the lookup's
LookupStats.Rounds (the deepest hop whose reply it used) and "queries" the
find_node queries it sent; each is one request and one reply on the wire.

Session churn (-sessions) brings every node back, then lets each node's
sessions and absences run for Weibull-distributed times (median -sessions,
shape -shape, 0.5 by default after Stutzbach and Rejaie's measurements of
deployed DHTs); a node that returns keeps its ID and table, as kadnode does
after a restart. Lookups start after -warmup and run while churn goes on;
"live at end" is the share of nodes up when they finish.

Churn phases fail a random share of the nodes (10%, then 30% in all)
without a word. Revalidation is set to an hour, so the failed nodes stay in
the tables and every lookup meets them as timeouts. Finding a live node
stays reliable; exact k among the live nodes is low by construction: the k
live nodes nearest a random ID include nodes ranked past k among all nodes,
and a find_node reply lists the responder's k nearest contacts, dead ones
included, so nobody names those live nodes until the dead ones are evicted.

Memory is the live heap after a collection, and the goroutine stacks,
divided by N; the nodes run without a store (their tables in memory only).
`
