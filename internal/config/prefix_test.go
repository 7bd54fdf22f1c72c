package config

import (
	"strings"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()
	got, err := ParseTrustedProxies([]string{"127.0.0.1", "10.0.0.0/8", "::ffff:192.0.2.1"})
	if err != nil || len(got) != 3 || got[0].String() != "127.0.0.1/32" || got[2].String() != "192.0.2.1/32" {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := ParseTrustedProxies([]string{"10.0.0.0/8", "proxy.lan", "10.0.0.0/33"}); err == nil {
		t.Error("bad entries accepted")
	} else if s := err.Error(); !strings.Contains(s, `"proxy.lan"`) || !strings.Contains(s, `"10.0.0.0/33"`) {
		t.Errorf("error %q does not name both bad entries", s)
	}
}
