// Package testnet runs networks of kadnode nodes: in-process on loopback for
// tests and benchmarks, simulated in memory for very large networks, and as a
// docker-compose testnet.
package testnet
