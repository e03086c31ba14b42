package statcache

// sig is a file's stat signature.
type sig struct {
	Dev   uint64
	Ino   uint64
	Size  int64
	Mode  uint32
	Mtime int64 // Unix nanoseconds
	Ctime int64 // Unix nanoseconds
}
