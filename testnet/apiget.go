package testnet

import (
	"context"
	"fmt"
	"net/http"
)

// Get GETs url from a node's control API and returns the answer when its
// status is 200 OK. A request that got no answer at all is tried again,
// up to APIAttempts times: on a starved machine the API's header timeout
// can pass before the request arrives, and the node then closes the
// connection (EOF) with nothing wrong in it or in the network. An answer
// with another status is not retried. The caller closes the body.
func Get(ctx context.Context, client *http.Client, url string) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err == nil {
			if resp.StatusCode != http.StatusOK {
				resp.Body.Close()
				return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
			}
			return resp, nil
		}
		if attempt == APIAttempts || ctx.Err() != nil {
			return nil, fmt.Errorf("GET %s, %d attempts: %w", url, attempt, err)
		}
	}
}
