// Command kadnode runs and queries a Kademlia node that authenticates every
// peer with DTLS over a single UDP socket.
package main

import (
	"os"

	"github.com/kadnode/kadnode/cli"
)

func main() {
	os.Exit(cli.Main(os.Args))
}
