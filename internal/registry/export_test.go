package registry

import "github.com/opencontainers/go-digest"

func dg(s string) digest.Digest { return digest.Digest(s) }
