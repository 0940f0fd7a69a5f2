package main

import (
	"context"
	"fmt"
)

// The JSON the kadnode client commands print (the command contract).

type selfJSON struct {
	ID      string `json:"id"`
	Contact string `json:"contact"`
	Joined  bool   `json:"joined"`
}

type nodeJSON struct {
	ID     string `json:"id"`
	Addr   string `json:"addr"`
	Bucket int    `json:"bucket"`
	State  string `json:"state"`
}

type lookupJSON struct {
	Target  string `json:"target"`
	Found   bool   `json:"found"`
	Addr    string `json:"addr"`
	Closest []struct {
		ID   string `json:"id"`
		Addr string `json:"addr"`
	} `json:"closest"`
	Stats struct {
		Queries   int     `json:"queries"`
		Responses int     `json:"responses"`
		Timeouts  int     `json:"timeouts"`
		Rounds    int     `json:"rounds"`
		Duration  float64 `json:"duration_ms"`
	} `json:"stats"`
}

func (d *dockerCLI) self(ctx context.Context, service string) (selfJSON, error) {
	var s selfJSON
	err := d.kadnodeJSON(ctx, service, &s, "id", "--data-dir", dataDir, "--api", apiAddr)
	if err == nil && s.ID == "" {
		err = fmt.Errorf("%s: `kadnode id --json` printed no id", service)
	}
	return s, err
}

func (d *dockerCLI) table(ctx context.Context, service string) ([]nodeJSON, error) {
	var t []nodeJSON
	err := d.kadnodeJSON(ctx, service, &t, "nodes", "--api", apiAddr)
	return t, err
}

func (d *dockerCLI) lookup(ctx context.Context, service, target string) (lookupJSON, error) {
	var l lookupJSON
	err := d.kadnodeJSON(ctx, service, &l, "lookup", target, "--api", apiAddr)
	return l, err
}

// bucketIDs is the set of IDs in a table's buckets (not its replacement
// caches), mapped to their addresses.
func bucketIDs(t []nodeJSON) map[string]string {
	m := make(map[string]string, len(t))
	for _, c := range t {
		if c.State == "bucket" {
			m[c.ID] = c.Addr
		}
	}
	return m
}
