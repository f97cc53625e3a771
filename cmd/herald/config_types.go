package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// checkTypes refuses a setting whose value does not parse as its flag's
// type. Flags are parsed strictly by pflag, but viper's getters read a
// value from the config file or a HERALD_* variable leniently: "maybe" as
// false, "ten" as 0, "5" (no unit) as 5ns. Each flag's type says how the
// value must parse.
func checkTypes(v *viper.Viper, fs *pflag.FlagSet) error {
	var first error
	fs.VisitAll(func(f *pflag.Flag) {
		if first == nil {
			first = checkType(f.Name, f.Value.Type(), v.Get(f.Name))
		}
	})
	return first
}

// checkType checks one value as viper holds it: typed when it came from a
// flag or YAML, a string when it came from the environment or a quoted
// YAML scalar.
func checkType(key, typ string, val any) error {
	s, isString := val.(string)
	bad := func(want string) error { return &configError{key, val, want} }
	switch typ {
	case "bool":
		if _, ok := val.(bool); ok {
			return nil
		}
		if _, err := strconv.ParseBool(s); isString && err == nil {
			return nil
		}
		return bad("want true or false")
	case "int", "int64":
		switch val.(type) {
		case int, int64, int32:
			return nil
		}
		if _, err := strconv.ParseInt(s, 10, 64); isString && err == nil {
			return nil
		}
		return bad("want a whole number")
	case "uint":
		switch n := val.(type) {
		case uint, uint64:
			return nil
		case int:
			if n >= 0 {
				return nil
			}
		}
		if _, err := strconv.ParseUint(s, 10, 64); isString && err == nil {
			return nil
		}
		return bad("want a whole number, 0 or more")
	case "float64":
		switch val.(type) {
		case float64, int:
			return nil
		}
		if _, err := strconv.ParseFloat(s, 64); isString && err == nil {
			return nil
		}
		return bad("want a number")
	case "duration":
		if _, ok := val.(time.Duration); ok {
			return nil
		}
		if _, err := time.ParseDuration(s); isString && err == nil {
			return nil
		}
		return bad("want a duration such as 30s or 5m")
	case "string":
		if isString {
			return nil
		}
		return bad(fmt.Sprintf("want a string, not a %T", val))
	}
	return nil // lists: viper splits strings and takes YAML sequences
}
