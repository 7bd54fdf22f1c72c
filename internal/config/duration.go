package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time span written as a Go duration ("5m", "1h30m"), a
// whole number of days ("90d") or, as docker_auth writes token
// expirations, a whole number of seconds.
type Duration time.Duration

// UnmarshalYAML accepts "5m", "90d" or 300. Its errors are
// *yaml.TypeErrors, so that decoding carries on and reports the rest of the
// file's problems too.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a duration must be a scalar such as \"5m\" or 300", n.Line)}}
	}
	if secs, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
		*d = Duration(time.Duration(secs) * time.Second)
		return nil
	}
	if days, ok := strings.CutSuffix(n.Value, "d"); ok {
		if n, err := strconv.ParseInt(days, 10, 64); err == nil && n >= 0 && n <= 100*365 {
			*d = Duration(time.Duration(n) * 24 * time.Hour)
			return nil
		}
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration such as \"5m\", \"90d\" or a number of seconds", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }
