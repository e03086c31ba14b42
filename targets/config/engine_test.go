package config

import (
	"encoding/json"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"

	"github.com/google/go-cmp/cmp"
)

// TestEngineProjectRoundTrip: every field of a Project, filled with
// random values, reaches the engine as the magefile set it. A field JSON
// cannot carry (a func, a channel, an unexported field) fails here.
func TestEngineProjectRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 50; i++ {
		v, ok := quick.Value(reflect.TypeOf(Project{}), r)
		if !ok {
			t.Fatal("quick.Value cannot make a Project")
		}
		want := v.Interface().(Project)
		data, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := EngineProject(MapEnv(map[string]string{EngineProjectVar: string(data)}))
		if err != nil || !ok {
			t.Fatalf("EngineProject: %v, %v", ok, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("the project changed on its way to the engine (-magefile +engine):\n%s", diff)
		}
	}
}

func TestEngineProjectErrors(t *testing.T) {
	if _, ok, err := EngineProject(MapEnv(nil)); ok || err != nil {
		t.Errorf("unset: ok %v, err %v; want neither", ok, err)
	}
	_, _, err := EngineProject(MapEnv(map[string]string{EngineProjectVar: `{"Images":[{"Nmae":"x"}]}`}))
	if err == nil || !strings.Contains(err.Error(), "go mod tidy") || !strings.Contains(err.Error(), "Nmae") {
		t.Errorf("an unknown field: err = %v, want one naming it and the fix", err)
	}
}
