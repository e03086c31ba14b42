package config

import (
	"fmt"

	"golang.org/x/mod/semver"
)

// DefaultTemplate is the CI pipeline init writes when GANTRY_TEMPLATE is unset.
const DefaultTemplate = "github"

// Scaffold is what init (the scaffolding of a consumer repository) is told
// through the environment.
type Scaffold struct {
	Template   string // CI template name (GANTRY_TEMPLATE); "none" writes no pipeline
	Force      bool   // replace existing files (GANTRY_INIT_FORCE)
	Dockerfile bool   // also write a Dockerfile (GANTRY_INIT_DOCKERFILE)
	Kit        string // the Gantry version to require (GANTRY_INIT_KIT); empty: the running kit's
}

// LoadScaffold reads init's settings from env. The template name is checked
// by the templates package, which knows the valid ones.
func LoadScaffold(env Env) (Scaffold, error) {
	s := Scaffold{Template: DefaultTemplate}
	if err := checkEmpty(env); err != nil {
		return Scaffold{}, err
	}
	if v, ok := env.lookup("GANTRY_TEMPLATE"); ok {
		s.Template = v
	}
	for name, dst := range map[string]*bool{"GANTRY_INIT_FORCE": &s.Force, "GANTRY_INIT_DOCKERFILE": &s.Dockerfile} {
		if v, ok := env.lookup(name); ok {
			b, err := parseBool(name, v)
			if err != nil {
				return Scaffold{}, err
			}
			*dst = b
		}
	}
	if v, ok := env.lookup("GANTRY_INIT_KIT"); ok {
		if !semver.IsValid(v) {
			return Scaffold{}, fmt.Errorf("GANTRY_INIT_KIT=%q is not a module version: use a tag such as v0.4.0", v)
		}
		s.Kit = v
	}
	return s, nil
}
