module example.com/verpkg

go 1.24.0

require github.com/opencontainers/go-digest v1.0.0
