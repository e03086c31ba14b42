package statcache

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// counting returns a compute function that hashes and counts its calls.
func counting(n *int) func(io.Reader) (string, error) {
	return func(r io.Reader) (string, error) {
		*n++
		return SumReader(r)
	}
}

func sumOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func skipWithoutSignatures(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("no stat signatures on " + runtime.GOOS + ": every file is read")
	}
}

func TestValueIsRecordedAndTrusted(t *testing.T) {
	skipWithoutSignatures(t)
	p := filepath.Join(t.TempDir(), "f")
	write(t, p, "one")
	c := Load("")
	c.TrustRecentChanges()
	var n int
	for range 3 {
		v, err := c.Value(p, SHA256, counting(&n))
		if err != nil || v != sumOf("one") {
			t.Fatalf("Value = %q, %v; want the SHA-256 of the content", v, err)
		}
	}
	if n != 1 {
		t.Errorf("read the unchanged file %d times, want 1", n)
	}
}

func TestChangedFileIsReadAgain(t *testing.T) {
	skipWithoutSignatures(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	write(t, p, "one")
	fi, _ := os.Stat(p)
	c := Load("")
	c.TrustRecentChanges()
	var n int
	c.Value(p, SHA256, counting(&n))

	tests := []struct {
		name, content string
		edit          func()
	}{
		// Same size, mtime put back: only the ctime tells.
		{"same size, mtime restored", "two", func() {
			write(t, p, "two")
			os.Chtimes(p, fi.ModTime(), fi.ModTime())
		}},
		{"replaced by rename", "three", func() {
			tmp := filepath.Join(dir, "tmp")
			write(t, tmp, "three")
			os.Chtimes(tmp, fi.ModTime(), fi.ModTime())
			os.Rename(tmp, p)
		}},
		{"touched", "three", func() {
			now := time.Now()
			os.Chtimes(p, now, now)
		}},
		{"mode changed", "three", func() { os.Chmod(p, 0o600) }},
	}
	for _, tc := range tests {
		before := n
		tc.edit()
		v, err := c.Value(p, SHA256, counting(&n))
		if err != nil || v != sumOf(tc.content) {
			t.Errorf("%s: Value = %q, %v; want the SHA-256 of %q", tc.name, v, err, tc.content)
		}
		if n != before+1 {
			t.Errorf("%s: the file was read %d times, want once", tc.name, n-before)
		}
	}
}

// TestRecentChangeIsNotTrusted: a file changed within the racy window of
// its read is read again, since a second write in the same timestamp tick
// would leave its signature as it was.
func TestRecentChangeIsNotTrusted(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	write(t, p, "one")
	c := Load("")
	var n int
	c.Value(p, SHA256, counting(&n))
	c.Value(p, SHA256, counting(&n))
	if n != 2 {
		t.Errorf("a file written just now was read %d times in two calls, want 2", n)
	}
}

func TestPutRefusesAChangeDuringTheRead(t *testing.T) {
	skipWithoutSignatures(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	write(t, p, "one")
	before, _ := os.Lstat(p)
	write(t, p, "two, longer")
	after, _ := os.Lstat(p)
	c := Load("")
	c.TrustRecentChanges()
	c.Put(p, SHA256, before, after, time.Now(), sumOf("one"))
	if v, ok := c.Get(p, SHA256, after); ok {
		t.Errorf("Get = %q after a Put whose file changed during the read, want nothing", v)
	}
}

func TestSaveAndLoad(t *testing.T) {
	skipWithoutSignatures(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "cache", "stat.txt")
	kept, gone := filepath.Join(dir, "kept file"), filepath.Join(dir, "gone")
	write(t, kept, "kept")
	write(t, gone, "gone")

	c := Load(file)
	c.TrustRecentChanges()
	for _, p := range []string{kept, gone} {
		if _, err := c.Sum(p); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(gone)
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}

	c = Load(file)
	c.TrustRecentChanges()
	if len(c.entries) != 1 {
		t.Errorf("loaded %d entries, want 1 (the removed file's dropped)", len(c.entries))
	}
	var n int
	if v, err := c.Value(kept, SHA256, counting(&n)); err != nil || v != sumOf("kept") || n != 0 {
		t.Errorf("after Load: Value = %q, %v with %d reads; want the recorded SHA-256 and no read", v, err, n)
	}

	// A corrupt cache file is an empty cache.
	write(t, file, header+"not a line\n")
	if c := Load(file); len(c.entries) != 0 {
		t.Errorf("a corrupt file loaded %d entries, want 0", len(c.entries))
	}
}

// firstLine is an id function: the file's first line names its content.
func firstLine(f io.ReaderAt) string {
	b := make([]byte, 64)
	n, _ := f.ReadAt(b, 0)
	line, _, _ := strings.Cut(string(b[:n]), "\n")
	return line
}

func TestValueByID(t *testing.T) {
	skipWithoutSignatures(t)
	later := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, p string) // after the first read
		reads  int                          // reads in all, want
		want   string                       // content whose sum the second read returns
	}{
		{"touched only", func(t *testing.T, p string) {
			if err := os.Chtimes(p, later, later); err != nil {
				t.Fatal(err)
			}
		}, 1, "id-1\naaaa"},
		{"rewritten in place, new id", func(t *testing.T, p string) {
			write(t, p, "id-2\nbbbb")
			os.Chtimes(p, later, later)
		}, 2, "id-2\nbbbb"},
		{"rewritten in place, same id, other size", func(t *testing.T, p string) {
			write(t, p, "id-1\naaaaa")
			os.Chtimes(p, later, later)
		}, 2, "id-1\naaaaa"},
		{"replaced by another file, same id and size", func(t *testing.T, p string) {
			write(t, p+".new", "id-1\ncccc")
			if err := os.Rename(p+".new", p); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(p, later, later)
		}, 2, "id-1\ncccc"},
		{"mode changed", func(t *testing.T, p string) {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, 2, "id-1\naaaa"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bin")
			write(t, p, "id-1\naaaa")
			c := Load("")
			c.TrustRecentChanges()
			var n int
			if v, err := c.ValueByID(p, SHA256, firstLine, counting(&n)); err != nil || v != sumOf("id-1\naaaa") {
				t.Fatalf("first ValueByID = %q, %v", v, err)
			}
			tc.change(t, p)
			v, err := c.ValueByID(p, SHA256, firstLine, counting(&n))
			if err != nil || v != sumOf(tc.want) {
				t.Errorf("after the change: ValueByID = %q, %v; want the sum of %q", v, err, tc.want)
			}
			if n != tc.reads {
				t.Errorf("read the file %d times, want %d", n, tc.reads)
			}
		})
	}
	t.Run("no id: a touch means reading again", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "bin")
		write(t, p, "aaaa")
		c := Load("")
		c.TrustRecentChanges()
		var n int
		none := func(io.ReaderAt) string { return "" }
		c.ValueByID(p, SHA256, none, counting(&n))
		os.Chtimes(p, later, later)
		if v, err := c.ValueByID(p, SHA256, none, counting(&n)); err != nil || v != sumOf("aaaa") || n != 2 {
			t.Errorf("ValueByID = %q, %v after %d reads; want the sum, 2 reads", v, err, n)
		}
	})
}
