package wire

import (
	"cmp"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// mustEncode encodes m after giving it a transaction ID, failing the test on
// error.
func mustEncode(t testing.TB, m *krpc.Msg) []byte {
	t.Helper()
	m.T = cmp.Or(m.T, "aa")
	b, err := kad.EncodeMsg(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// preparing makes Prepare start handshakes on any path, loopback too.
func preparing(c *Config) { c.PrepareMinRTT = -1 }
