package wire

import (
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// A call used to allocate its reply channel and its timer (three objects)
// on every exchange; both are recycled instead. A timer from the pool is
// stopped, and since Go 1.23 a stopped timer delivers no stale tick.
var (
	replyChanPool = sync.Pool{New: func() any { return make(chan *krpc.Msg, 1) }}
	timerPool     = sync.Pool{New: func() any {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return t
	}}
	// msgBufPool recycles the buffer a message is encoded into (one per
	// query and per reply): pion's Write copies it into the record it
	// encrypts before returning. Its capacity holds the largest message
	// the encoder lets through, behind a proof.
	msgBufPool = sync.Pool{New: func() any {
		b := make([]byte, 0, proofLen+kad.MaxValueMessageSize)
		return &b
	}}
)

func getTimer(d time.Duration) *time.Timer {
	t := timerPool.Get().(*time.Timer)
	t.Reset(d)
	return t
}

func putTimer(t *time.Timer) {
	t.Stop()
	timerPool.Put(t)
}

// putReplyChan recycles the reply channel of a call that has been
// forgotten: deliver sends under rpcMu, so no send can come after forget,
// and one that came before is drained here.
func putReplyChan(ch chan *krpc.Msg) {
	select {
	case <-ch:
	default:
	}
	replyChanPool.Put(ch)
}
