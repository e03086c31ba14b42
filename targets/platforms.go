package targets

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gantrybuild/gantry/targets/platform"
)

// Print the platforms of every image as a JSON array.
//
// For example ["linux/amd64","linux/arm64"]: the matrix of a split CI
// pipeline's build jobs.
func Platforms(ctx context.Context) error {
	return forUser(func() error {
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		var names []string
		for _, p := range cfg.Platforms() {
			names = append(names, platform.String(p))
		}
		out, err := json.Marshal(names)
		if err != nil {
			return err
		}
		fmt.Println(string(out))
		return nil
	}())
}
