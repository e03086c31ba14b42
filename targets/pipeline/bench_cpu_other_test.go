//go:build !unix

package pipeline_test

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }

// selfCPU is not measured here.
func selfCPU() time.Duration { return 0 }
