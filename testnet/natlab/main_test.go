package natlab

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveBinary()
	os.Exit(code)
}

// modRoot is the module root, where Binary builds kadnode.
const modRoot = "../.."
