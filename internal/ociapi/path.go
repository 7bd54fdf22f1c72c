package ociapi

import (
	"strings"

	"wharf/internal/registry"

	"wharf/internal/errcode"
)

// routeKind names the endpoint a /v2/ path addresses.
type routeKind int

const (
	routeBase        routeKind = iota + 1 // /v2/
	routeCatalog                          // /v2/_catalog
	routeTags                             // /v2/<name>/tags/list
	routeManifest                         // /v2/<name>/manifests/<reference>
	routeBlob                             // /v2/<name>/blobs/<digest>
	routeUploadStart                      // /v2/<name>/blobs/uploads/
	routeUpload                           // /v2/<name>/blobs/uploads/<id>
	routeReferrers                        // /v2/<name>/referrers/<digest>
)

// route is a parsed /v2/ path. Name is a validated repository name; Ref is
// the last component (reference, digest or upload id), not yet validated.
type route struct {
	Kind routeKind
	Name string
	Ref  string
	// Account is the account the authorizer granted the request to
	// (empty: anonymous, or no authorization), for the events it records.
	Account string
}

// parsePath splits a /v2/ path into its endpoint, repository name and last
// component. Repository names may contain slashes and even the words
// "blobs" or "manifests", so the endpoint is recognised from the right. The
// name is checked against the spec's grammar, which admits no "." or ".."
// components: nothing built from it can leave its directory.
func parsePath(p string) (route, error) {
	rest, ok := strings.CutPrefix(p, "/v2")
	if !ok {
		return route{}, errorf(errcode.NotFound, "not an OCI distribution API path")
	}
	if rest == "" || rest == "/" {
		return route{Kind: routeBase}, nil
	}
	rest, ok = strings.CutPrefix(rest, "/")
	if !ok {
		return route{}, errorf(errcode.NotFound, "not an OCI distribution API path")
	}
	if rest == "_catalog" {
		return route{Kind: routeCatalog}, nil
	}
	segs := strings.Split(rest, "/")
	n := len(segs)
	if n < 3 {
		return route{}, errorf(errcode.NotFound, "unknown API endpoint")
	}
	var rt route
	var nameEnd int
	switch last, prev := segs[n-1], segs[n-2]; {
	case prev == "uploads" && segs[n-3] == "blobs" && n >= 4:
		rt, nameEnd = route{Kind: routeUpload, Ref: last}, n-3
		if last == "" {
			rt.Kind = routeUploadStart
		}
	case last == "uploads" && prev == "blobs":
		rt, nameEnd = route{Kind: routeUploadStart}, n-2
	case prev == "blobs":
		rt, nameEnd = route{Kind: routeBlob, Ref: last}, n-2
	case prev == "manifests":
		rt, nameEnd = route{Kind: routeManifest, Ref: last}, n-2
	case prev == "referrers":
		rt, nameEnd = route{Kind: routeReferrers, Ref: last}, n-2
	case prev == "tags" && last == "list":
		rt, nameEnd = route{Kind: routeTags}, n-2
	default:
		return route{}, errorf(errcode.NotFound, "unknown API endpoint")
	}
	if nameEnd < 1 {
		return route{}, errorf(errcode.NameInvalid, "repository name is empty")
	}
	rt.Name = strings.Join(segs[:nameEnd], "/")
	if !registry.ValidName(rt.Name) {
		return route{}, errorf(errcode.NameInvalid, "invalid repository name: use lowercase letters, digits and separators (. _ __ -), components joined by /, at most 255 characters")
	}
	if rt.Kind != routeUploadStart && rt.Kind != routeTags && rt.Ref == "" {
		return route{}, errorf(errcode.NotFound, "unknown API endpoint")
	}
	return rt, nil
}
