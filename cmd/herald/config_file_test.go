package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// TestConfigFileHasEverySetting: configs/herald.yaml, which the README
// calls every setting with its default, names every flag of herald start
// (but the command's own: config, check-config, and the test-only ones),
// and loads: the settings it leaves at their defaults load as the flags'
// defaults do.
func TestConfigFileHasEverySetting(t *testing.T) {
	path := filepath.Join("..", "..", "configs", "herald.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := yaml.Unmarshal(b, &keys); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	fs := pflag.NewFlagSet("start", pflag.ContinueOnError)
	defineFlags(fs)
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "config" || f.Name == "check-config" || strings.HasPrefix(f.Name, "test-") {
			return
		}
		if _, ok := keys[f.Name]; !ok {
			t.Errorf("%s does not set --%s", path, f.Name)
		}
	})
	fromFile, err := load(t, "--config", path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defaults, err := load(t)
	if err != nil {
		t.Fatal(err)
	}
	// The file sets these to examples of its own; the rest are defaults.
	examples := map[string]bool{"Name": true, "ListenAddr": true, "AdvertiseClientURLs": true, "DataDir": true, "MetricsAddr": true, "EmbeddedClientAddr": true, "EmbeddedPeerAddr": true}
	fv, dv := reflect.ValueOf(*fromFile), reflect.ValueOf(*defaults)
	for i := range fv.NumField() {
		name := fv.Type().Field(i).Name
		if examples[name] || !fv.Type().Field(i).IsExported() {
			continue
		}
		if f, d := fv.Field(i).Interface(), dv.Field(i).Interface(); !reflect.DeepEqual(f, d) && !(isEmpty(fv.Field(i)) && isEmpty(dv.Field(i))) {
			t.Errorf("%s: %s loads as %v, its default is %v", path, name, f, d)
		}
	}
}

// isEmpty treats a nil and an empty slice alike (a YAML [] against no flag).
func isEmpty(v reflect.Value) bool {
	return (v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0
}
