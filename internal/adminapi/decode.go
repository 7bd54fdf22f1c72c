package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"

	"wharf/internal/errcode"
)

// maxBody bounds a request body: a user with labels, a rule or a token
// request is well under a kilobyte.
const maxBody = 64 << 10

// decode reads the request's JSON body into v strictly: the media type
// must be JSON, the body at most maxBody bytes, one object with no unknown
// member and nothing after it. Errors name the member at fault and never
// quote the body (which may hold a password).
//
// Requiring a JSON media type also keeps browsers from forging requests
// with an admin's remembered Basic credentials: a cross-site form cannot
// send one, and a script needs a CORS preflight, which the API never
// grants. (PUT, PATCH and DELETE always need one.)
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &errcode.Error{Code: errcode.AdminUnsupportedMedia,
			Message: "send the request body as JSON, with Content-Type: application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return &errcode.Error{Code: errcode.AdminTooLarge,
			Message: fmt.Sprintf("the request body is larger than %d bytes", maxBody)}
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The server's read deadline (limits.body_timeout) passed.
		return &errcode.Error{Code: errcode.AdminRequestTimeout,
			Message: "the request body did not arrive in time; send it again"}
	case err != nil:
		return invalid("", "reading the request body failed")
	case len(bytes.TrimSpace(body)) == 0:
		return invalid("", "the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("", "the request body holds more than one JSON value")
	}
	return nil
}

// jsonError explains a decoding error without quoting the input.
func jsonError(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		own    *errcode.Error
	)
	switch {
	case errors.As(err, &own):
		return own
	case errors.As(err, &syntax):
		return invalid("", "the request body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalid("", "the request body must be a JSON object")
		}
		return invalid(typ.Field, "%s: want a JSON %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "the request body is cut short")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field, _ := strconv.Unquote(name)
		return invalid(field, "unknown member %s; see docs/api/openapi.yaml for the members this request takes", name)
	}
	return invalid("", "the request body does not decode: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "int32":
		return "integer"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	}
	return goKind
}
