package ociapi

import (
	"net/http"

	"wharf/internal/auth"
	"wharf/internal/errcode"
)

// Authorizer decides whether a request may have the access it needs. A nil
// Authorizer (auth: none) allows everything.
type Authorizer interface {
	// Authorize returns nil when r may do everything in need (an empty need
	// asks only for a valid credential, as GET /v2/ does), or an
	// *AuthError saying how to answer. account is who the credential
	// names, "" when it names nobody (an anonymous token, silly auth):
	// per-client limits then count the client's address.
	Authorize(r *http.Request, need []auth.Access) (account string, err error)
}

// AuthError is a refused request: 401 with a challenge, 403, 429, or 503
// (the server could not check the credentials now).
type AuthError struct {
	// Code is errcode.Unauthorized, Denied, TooManyRequests or
	// Unavailable; the table gives the status.
	Code      errcode.Code
	Challenge string // the WWW-Authenticate value for a 401
	Message   string // safe for the client: never a secret
	// RetryAfter, in seconds, for a 429 or 503.
	RetryAfter int
	// Need is the access the request needed, shown as the error's detail
	// so that a user can see which permission is missing.
	Need []auth.Access
}

func (e *AuthError) Error() string { return e.Message }

// answer is the response to e.
func (e *AuthError) answer() *errcode.Error {
	a := &errcode.Error{Code: e.Code, Message: e.Message, RetryAfter: e.RetryAfter}
	if e.Code == errcode.Unauthorized && e.Challenge != "" {
		a.Challenges = []string{e.Challenge}
	}
	if len(e.Need) > 0 {
		a.Detail = e.Need
	}
	return a
}

// Actions a request needs, by endpoint and method. Writes need push only
// (not pull as well, as distribution asks), so a push-only robot account
// works; deletes need delete. A cross-repository mount also needs pull on
// its source, as in distribution: the challenge then names both scopes and
// the client fetches one token for both.
func needs(rt route, r *http.Request) []auth.Access {
	method := r.Method
	repo := func(actions ...string) []auth.Access {
		return []auth.Access{{Type: auth.TypeRepository, Name: rt.Name, Actions: actions}}
	}
	switch rt.Kind {
	case routeBase:
		return nil
	case routeCatalog:
		return []auth.Access{{Type: auth.TypeRegistry, Name: "catalog", Actions: []string{"*"}}}
	case routeTags, routeReferrers:
		return repo("pull")
	case routeManifest, routeBlob:
		switch method {
		case http.MethodGet, http.MethodHead:
			return repo("pull")
		case http.MethodDelete:
			return repo("delete")
		default:
			return repo("push")
		}
	default: // uploads
		need := repo("push")
		if rt.Kind == routeUploadStart && method == http.MethodPost {
			q := r.URL.Query()
			if from := q.Get("from"); from != "" && q.Get("mount") != "" && from != rt.Name {
				need = append(need, auth.Access{Type: auth.TypeRepository, Name: from, Actions: []string{"pull"}})
			}
		}
		return need
	}
}
