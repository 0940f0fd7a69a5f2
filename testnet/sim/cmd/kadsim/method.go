package main

// method explains how the figures in RESULTS.md were made; kadsim writes it
// above the tables so that a redrawn file keeps it.
const method = `## Simulated networks (testnet/sim)

The unchanged node code (node.New, its join, lookups, table and handlers)
runs on an in-memory transport: every node is a sim.Endpoint at its own
127.x.y.z address, and its identity is the ID the simulation assigns (no
certificates: it stands for the DTLS-authenticated ID). A query is handled
in the caller's goroutine, so the transport adds no goroutines. A query to
a failed node, or a lost datagram, costs the dead-node timeout: a short
stand-in for the RPC timeout. The node's timers run on the wall clock (its
Clock only supplies Now), so the simulation cannot run faster than real
time; short timeouts are what keep large runs within minutes.

Nodes join a few at a time, each seeded with a random node that has
already joined; measuring starts once no query has crossed the network for
300 ms. Each phase runs lookups from random live nodes: half for random
IDs, which succeed when the k contacts returned are exactly the k live
nodes nearest the target by XOR distance (found by scanning every node,
the querying one left out), and half for IDs of other live nodes, which
succeed when the node is found at its address. "rounds" is the lookup's
LookupStats.Rounds (the deepest hop whose reply it used) and "queries" the
find_node queries it sent; each is one request and one reply on the wire.

Churn phases fail a random share of the nodes (10%, then 30% in all)
without a word. Revalidation is set to an hour, so the failed nodes stay in
the tables and every lookup meets them as timeouts. Finding a live node
stays reliable; exact k among the live nodes is low by construction: the k
live nodes nearest a random ID include nodes ranked past k among all nodes,
and a find_node reply lists the responder's k nearest contacts, dead ones
included, so nobody names those live nodes until the dead ones are evicted.

Memory is the live heap after a collection, and the goroutine stacks,
divided by N; it includes each node's in-memory store.
`
