package sigstoretest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
)

// proc is a server process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *ocitest.ProcLog
	exited chan struct{}
}

func (s *Stack) run(name string, args []string, env []string) (*proc, error) {
	bin, err := exec.LookPath(name)
	if err != nil {
		return nil, err
	}
	p := &proc{name: name, out: &ocitest.ProcLog{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = s.dir
	p.cmd.Env = append(append(os.Environ(), "HOME="+s.dir, "OTEL_TRACES_EXPORTER=none"), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	s.procs = append(s.procs, p)
	go func() { p.cmd.Wait(); close(p.exited) }()
	return p, nil
}

// waitHTTP waits until url answers 200.
func (p *proc) waitHTTP(url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited (%v):\n%s", p.name, p.cmd.ProcessState, p.out.Tail(3000))
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer %s within 60s:\n%s", p.name, url, p.out.Tail(3000))
}

func (p *proc) stop() {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
		<-p.exited
	}
}

func freePorts(n int) ([]int, error) {
	var out []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// waitPortFree waits until addr can be listened on (a process outside
// the lock, e.g. an older test binary, may hold it).
func waitPortFree(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			return l.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %s stays busy (timestamp-server needs it for metrics): %w", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
