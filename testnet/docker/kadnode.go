package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kadnode/kadnode/testnet"
	"github.com/kadnode/kadnode/testnet/netns"
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
	err := d.apiJSON(ctx, service, "/api/self", &s)
	if err == nil && s.ID == "" {
		err = fmt.Errorf("%s: /api/self gave no id", service)
	}
	return s, err
}

func (d *dockerCLI) table(ctx context.Context, service string) ([]nodeJSON, error) {
	var t []nodeJSON
	err := d.apiJSON(ctx, service, "/api/nodes", &t)
	return t, err
}

// apiJSON GETs path from a service's control API and decodes the answer.
// The checks that poll every node use the API rather than `docker exec
// kadnode ...`: a runc exec per node per poll loads a busy machine enough
// to starve the nodes it is watching.
// testnet.Get tries a request that got no answer again: under load the
// API's header timeout can pass before the request arrives.
func (d *dockerCLI) apiJSON(ctx context.Context, service, path string, v any) error {
	client, err := d.apiClient(ctx, service)
	if err != nil {
		return err
	}
	return apiJSONVia(ctx, client, service, path, v)
}

// apiJSONVia is apiJSON through a client from apiClient, which a step that
// asks one node many things makes once.
func apiJSONVia(ctx context.Context, client *http.Client, service, path string, v any) error {
	resp, err := testnet.Get(ctx, client, "http://"+apiAddr+path)
	if err != nil {
		return fmt.Errorf("%s: %w", service, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("%s: GET %s: %w", service, path, err)
	}
	return nil
}

// apiClient is an HTTP client for a service's control API. The API listens
// on the container's loopback only, so the client dials from inside the
// container's network namespace (the check runs as root, as docker does).
func (d *dockerCLI) apiClient(ctx context.Context, service string) (*http.Client, error) {
	out, err := d.docker(ctx, "inspect", "-f", "{{.State.Pid}}", containerName(service))
	if err != nil {
		return nil, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || pid <= 0 {
		return nil, fmt.Errorf("%s: no running process (pid %q)", service, strings.TrimSpace(string(out)))
	}
	return netns.HTTPClient(netns.OfProcess(pid), apiExecTO), nil
}

func (d *dockerCLI) lookup(ctx context.Context, service, target string) (lookupJSON, error) {
	client, err := d.apiClient(ctx, service)
	if err != nil {
		return lookupJSON{}, err
	}
	return lookupVia(ctx, client, service, target)
}

// lookupVia has a service look up target through its control API (GET
// /api/lookup, what `kadnode lookup --api` asks), which costs no process
// in the container. Like that command, it fails a lookup that nobody
// answered: that is no evidence the target is absent.
func lookupVia(ctx context.Context, client *http.Client, service, target string) (lookupJSON, error) {
	var l lookupJSON
	if err := apiJSONVia(ctx, client, service, "/api/lookup?target="+url.QueryEscape(target), &l); err != nil {
		return l, err
	}
	if !l.Found && l.Stats.Responses == 0 {
		return l, fmt.Errorf("%s: lookup of %s failed: none of its %d queries was answered (%d timed out)",
			service, target, l.Stats.Queries, l.Stats.Timeouts)
	}
	return l, nil
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
