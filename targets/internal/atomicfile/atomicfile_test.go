package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "f.json") // directories missing
	for _, data := range []string{"first", "second, longer"} {
		for _, w := range []func(string, []byte) error{Write, WriteDurable} {
			if err := w(path, []byte(data)); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != data {
				t.Fatalf("read back %q (%v), want %q", got, err, data)
			}
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", fi.Mode(), err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the file: a temp file was left", len(ents))
	}
	if err := Write(filepath.Join(path, "under-a-file"), nil); err == nil {
		t.Error("writing under a regular file succeeded")
	}
}
