package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// apiClient talks to a running node's control API.
type apiClient struct {
	addr   string // host:port, as given with --api
	scheme string // "https" with --api-tls-cert, else "" (http)
	token  string
	http   *http.Client
}

// newAPIClient reads --api, the token flags and --api-tls-cert.
func newAPIClient(c *ucli.Context) (*apiClient, error) {
	addr := c.String("api")
	if addr == "" {
		return nil, usageErrorf("--api is empty; give the control API address of a running node (default %s)", defaultAPI)
	}
	if strings.Contains(addr, "://") {
		return nil, usageErrorf("--api %q should be host:port, without a scheme (e.g. %s)", addr, defaultAPI)
	}
	token, err := apiToken(c)
	if err != nil {
		return nil, err
	}
	tlsConf, err := clientTLS(c)
	if err != nil {
		return nil, err
	}
	api := &apiClient{addr: addr, token: token, http: &http.Client{
		// One request per command: keeping the connection would only leave it idle.
		Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: tlsConf},
	}}
	if tlsConf != nil {
		api.scheme = "https"
	}
	return api, nil
}

// call runs one request and decodes the JSON answer into out.
func (a *apiClient) call(ctx context.Context, method, path string, query url.Values, out any) error {
	scheme := a.scheme
	if scheme == "" {
		scheme = "http"
	}
	u := url.URL{Scheme: scheme, Host: a.addr, Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return usageErrorf("--api %q is not a usable address (%v); give host:port, e.g. %s", a.addr, err, defaultAPI)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer from the control API at %s within --timeout; "+
				"the node may be busy, or raise --timeout", a.addr)
		}
		return apiUnreachable(a.addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return apiUnreachable(a.addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		return a.failure(resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("the control API at %s answered something that is not kadnode's JSON (%v); "+
			"is --api pointing at a kadnode?", a.addr, err)
	}
	return nil
}

// failure turns an error answer into an error with the right exit status.
func (a *apiClient) failure(status int, body []byte) error {
	var e errorJSON
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return fmt.Errorf("the control API at %s answered %d %s; is --api pointing at a kadnode?",
			a.addr, status, http.StatusText(status))
	}
	switch status {
	case http.StatusBadRequest:
		return usageErrorf("%s", e.Error)
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusMisdirectedRequest:
		return usageErrorf("the control API at %s refused the request: %s", a.addr, e.Error)
	default:
		return errors.New(e.Error)
	}
}
