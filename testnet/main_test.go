package testnet

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnvDir) != "" {
		runChild()
		return
	}
	goleak.VerifyTestMain(m)
}
