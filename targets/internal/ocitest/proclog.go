package ocitest

import (
	"bytes"
	"sync"
)

// ProcLog collects the output of a server process a test started, so a
// failure can show its last lines.
type ProcLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *ProcLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Tail returns the last n bytes written ("…" first when cut).
func (b *ProcLog) Tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
