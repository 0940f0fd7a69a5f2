// Package hostile holds tests of kadnode under attack: handshake floods,
// request load, table poisoning, spoofed and replayed traffic,
// amplification, disk faults and churn. Attackers are separate hosts on
// their own addresses in 127.0.0.0/8; nothing is sent elsewhere. A flood
// from spoofed sources runs inside a network namespace the test makes
// (root only), so the node's answers reach nobody else. Every
// test asserts bounded behaviour (caps held, nothing inserted, counts
// that match) and logs its figures; `make hostile` runs them at full size.
package hostile
