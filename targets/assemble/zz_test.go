package assemble
import ("testing";"fmt")
func TestZZ(t *testing.T) {
	_, l := staticLayerOf(t, amd64)
	rc, _ := l.Uncompressed()
	es := readTar(t, rc, 0)
	for i, e := range es { if i < 20 { fmt.Printf("%-40s %c %o %d\n", e.Name, e.Typeflag, e.Mode, e.Uid) } }
	sz, _ := l.Size()
	fmt.Println(len(es), "entries; compressed", sz)
}
