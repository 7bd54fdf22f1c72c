package config

import (
	"fmt"
	"time"
)

// UploadMaxAge parses Uploads.MaxAge.
func (c Config) UploadMaxAge() (time.Duration, error) {
	d, err := time.ParseDuration(c.Uploads.MaxAge)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("uploads.max_age: %q is not a positive duration (for example \"24h\")", c.Uploads.MaxAge)
	}
	return d, nil
}
