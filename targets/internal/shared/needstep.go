package shared

import (
	"regexp"
	"strings"
)

// NeedStep is an error whose fix is to run Gantry steps: what a step needs
// is missing or stale. Engine packages name the step (the mage target), not
// the command that runs it, which depends on how the repository runs mage;
// ForUser spells it.
type NeedStep struct {
	Err error // what is missing or wrong; nil: Fix says it all
	// Fix says what to do, naming each step in braces, with its arguments
	// if any: "run {index} (or {release}) first", "{compile:platform
	// linux/arm64}". Error writes a step as its bare name.
	Fix string
}

// Error is the message without a command: "…: run index (or release)
// first".
func (e *NeedStep) Error() string { return e.message(func(step string) string { return step }) }

func (e *NeedStep) Unwrap() error { return e.Err }

// message renders the error with each {step} written by spell.
func (e *NeedStep) message(spell func(step string) string) string {
	fix := stepRE.ReplaceAllStringFunc(e.Fix, func(m string) string { return spell(m[1 : len(m)-1]) })
	if e.Err == nil {
		return fix
	}
	return e.Err.Error() + ": " + fix
}

// stepRE matches a step in a Fix: a mage target (lower-case, namespaced
// with ':') and its arguments.
var stepRE = regexp.MustCompile(`\{[a-z][a-z:]*(?: [^{}]*)?\}`)

// ForUser returns err with each NeedStep in it (wrapped or joined) spelling
// its steps as the command the user types, mage being the command that runs
// mage in the repository (config.MageCommand): "run `go tool mage index`
// first". The result wraps err (errors.Is and errors.As still see through
// it); an error holding no NeedStep is returned as it is.
func ForUser(err error, mage string) error {
	steps := needSteps(err, nil)
	if len(steps) == 0 {
		return err
	}
	msg := err.Error()
	for _, s := range steps {
		msg = strings.ReplaceAll(msg, s.Error(), s.message(func(step string) string { return "`" + mage + " " + step + "`" }))
	}
	return &userError{msg: msg, err: err}
}

// needSteps collects the NeedSteps in err's tree, outermost first.
func needSteps(err error, out []*NeedStep) []*NeedStep {
	if ns, ok := err.(*NeedStep); ok {
		out = append(out, ns)
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = needSteps(e, out)
		}
	case interface{ Unwrap() error }:
		out = needSteps(u.Unwrap(), out)
	}
	return out
}

type userError struct {
	msg string
	err error
}

func (e *userError) Error() string { return e.msg }
func (e *userError) Unwrap() error { return e.err }
