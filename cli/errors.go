package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"syscall"

	"github.com/kadnode/kadnode/store"
)

// usageError is a mistake on the command line (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitStatus maps an error returned by a command to the process exit status.
func exitStatus(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}

// listenError explains a failed bind of the UDP socket or the control API.
func listenError(what, flag, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s address %s is already in use (is another kadnode running?); "+
			"stop the other process or pick another address with %s", what, addr, flag)
	}
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Errorf("%s address %s is not an address of this machine; "+
			"pick one of its addresses (or 0.0.0.0) with %s", what, addr, flag)
	}
	if errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("%s address %s needs privileges to bind; pick a port above 1023 with %s", what, addr, flag)
	}
	return fmt.Errorf("cannot bind %s address %s (%w); check %s", what, addr, err, flag)
}

// identityError explains a node key that cannot be read or written; the
// key's own problems (mode, format) already name their fix.
func identityError(dataDir string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w; --data-dir %s must be a directory this user can write", err, dataDir)
	}
	return err
}

// storeOpenError explains a failed open of the routing-table store.
func storeOpenError(dataDir string, err error) error {
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("data dir %s is in use by another kadnode; "+
			"stop that node, or give this one its own --data-dir", dataDir)
	}
	return err // the store's errors name the directory and the fix
}

// apiUnreachable explains a control API that does not answer.
func apiUnreachable(addr string, err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("control API at %s did not answer in time (%v); "+
			"is `kadnode run` running with --api %s?", addr, err, addr)
	}
	return fmt.Errorf("cannot reach the control API at %s (%v); "+
		"is `kadnode run` running with --api %s?", addr, err, addr)
}

// rpcFailure explains a failed operation (ping, add, lookup) on a node.
func rpcFailure(what, subject string, err error) error {
	return fmt.Errorf("%s of %s failed: %s", what, subject, rpcProblem(err))
}

// rpcProblem says why a remote node did not do what we asked, in words an
// operator can act on; a timeout says no more than that nothing answered.
func rpcProblem(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer in time; check that a kadnode runs there with the same --network and that UDP reaches it"
	}
	return err.Error()
}
