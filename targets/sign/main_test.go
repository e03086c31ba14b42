package sign_test

import (
	"testing"

	"github.com/gantrybuild/gantry/targets/internal/ocitest"
)

// TestMain names, at the end, the clients whose tests were skipped.
func TestMain(m *testing.M) { ocitest.Main(m) }
