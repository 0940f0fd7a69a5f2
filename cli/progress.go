package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress redraws one status line on a terminal while a command waits, so
// a person sees it is alive; on anything but a terminal it prints nothing.
type progress struct {
	w       io.Writer
	started time.Time

	mu    sync.Mutex
	label string

	stop chan struct{}
	done chan struct{}
}

// startProgress starts the redraw loop when w is a terminal; the caller
// must call finish.
func startProgress(w io.Writer, label string) *progress {
	return newProgress(w, label, isTerminal(w))
}

func newProgress(w io.Writer, label string, tty bool) *progress {
	p := &progress{w: w, label: label, started: time.Now()}
	if !tty {
		return p
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.loop()
	return p
}

// set changes the label.
func (p *progress) set(label string) {
	p.mu.Lock()
	p.label = label
	p.mu.Unlock()
}

// finish stops the loop and clears the line.
func (p *progress) finish() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
	fmt.Fprint(p.w, "\r\x1b[K")
}

func (p *progress) loop() {
	defer close(p.done)
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		p.mu.Lock()
		label := p.label
		p.mu.Unlock()
		fmt.Fprintf(p.w, "\r\x1b[K%s %.1fs", label, time.Since(p.started).Seconds())
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && fileIsTerminal(f)
}
