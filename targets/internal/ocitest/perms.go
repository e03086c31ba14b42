package ocitest

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ObeyPermissionsElsewhere makes sure the calling test runs where file
// permissions apply: as root (which reads every directory), it runs the
// test again in a child process whose capabilities leave out
// CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv), fails when the child
// fails, and returns true: the caller returns. Elsewhere it returns false.
func ObeyPermissionsElsewhere(t *testing.T) bool {
	t.Helper()
	probe := filepath.Join(t.TempDir(), "probe")
	if err := os.Mkdir(probe, 0); err != nil {
		t.Fatal(err)
	}
	_, err := os.ReadDir(probe)
	os.Chmod(probe, 0o755)
	if errors.Is(err, fs.ErrPermission) {
		return false
	}
	setpriv := NeedTool(t, "setpriv")
	cmd := exec.Command(setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--",
		os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v", "-test.count", "1")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("%s without CAP_DAC_OVERRIDE (setpriv): %v\n%s", t.Name(), err, out)
	}
	t.Logf("ran in a child that obeys file permissions:\n%s", out)
	return true
}
