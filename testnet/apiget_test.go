package testnet

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestGetRetriesWhenNoAnswerCame: a server that closes the first
// connections unanswered, as an API whose header timeout passed does, is
// read on a later attempt; one that never answers fails after
// APIAttempts; a 404 is an answer and is not retried.
func TestGetRetriesWhenNoAnswerCame(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dropped int64 // connections closed before the one answered
		status  int
		want    string // "" for success, else part of the error
		tries   int64
	}{
		{"one dropped", 1, http.StatusOK, "", 2},
		{"all but the last dropped", APIAttempts - 1, http.StatusOK, "", APIAttempts},
		{"every attempt dropped", APIAttempts, http.StatusOK, "EOF", APIAttempts},
		{"not found", 0, http.StatusNotFound, "404", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tries atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tries.Add(1) <= tc.dropped {
					conn, _, err := w.(http.Hijacker).Hijack()
					if err != nil {
						t.Error(err)
						return
					}
					conn.Close()
					return
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, "ok")
			}))
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := Get(context.Background(), client, srv.URL)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want == "":
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != "ok" {
					t.Errorf("body %q", body)
				}
			case err == nil || !strings.Contains(err.Error(), tc.want):
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if got := tries.Load(); got != tc.tries {
				t.Errorf("%d requests reached the server, want %d", got, tc.tries)
			}
		})
	}
}
