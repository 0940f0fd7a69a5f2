// Package store persists the routing table in Pebble under a versioned schema.
package store
