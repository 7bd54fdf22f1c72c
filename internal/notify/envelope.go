package notify

import (
	"encoding/json"
	"net/http"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"wharf/internal/events"
)

// EventsMediaType is the Content-Type of every delivery: distribution's
// envelope, version 1 (distribution 3 calls the same shape v2).
const EventsMediaType = "application/vnd.docker.distribution.events.v1+json"

// blobMediaType is the target media type of blob events, as distribution
// sends them; ignore.mediatypes commonly names it to keep only manifests.
const blobMediaType = "application/octet-stream"

// Envelope is the body of a delivery.
type Envelope struct {
	Events []json.RawMessage `json:"events"`
}

// Event is one event as distribution's receivers decode it. Field names and
// omissions follow distribution's notifications package.
type Event struct {
	ID        string    `json:"id"`
	Timestamp time.Time `json:"timestamp"`
	Action    string    `json:"action"`
	Target    Target    `json:"target"`
	Request   Request   `json:"request"`
	Actor     Actor     `json:"actor"`
	Source    Source    `json:"source"`
}

// Target is what the event happened to.
type Target struct {
	MediaType      string `json:"mediaType,omitempty"`
	Size           int64  `json:"size,omitempty"`
	Digest         string `json:"digest,omitempty"`
	Length         int64  `json:"length,omitempty"`
	Repository     string `json:"repository,omitempty"`
	FromRepository string `json:"fromRepository,omitempty"`
	URL            string `json:"url,omitempty"`
	Tag            string `json:"tag,omitempty"`
	// References are a manifest's config and layers, or an index's
	// manifests, with includereferences (Options.IncludeReferences).
	References []v1.Descriptor `json:"references,omitempty"`
}

// Request is the client request that caused the event.
type Request struct {
	ID        string `json:"id"`
	Addr      string `json:"addr,omitempty"`
	Host      string `json:"host,omitempty"`
	Method    string `json:"method"`
	UserAgent string `json:"useragent"`
}

// Actor is the account the request was granted to.
type Actor struct {
	Name string `json:"name,omitempty"`
}

// Source is the registry process that recorded the event.
type Source struct {
	Addr       string `json:"addr,omitempty"`
	InstanceID string `json:"instanceID,omitempty"`
}

// references lists what a manifest payload refers to, as distribution's
// Manifest.References does: an image's config then its layers, an index's
// manifests. The payload was checked when it was pushed; one that does not
// parse lists nothing.
func references(payload []byte) []v1.Descriptor {
	var m struct {
		Config    *v1.Descriptor  `json:"config"`
		Layers    []v1.Descriptor `json:"layers"`
		Manifests []v1.Descriptor `json:"manifests"`
	}
	if len(payload) == 0 || json.Unmarshal(payload, &m) != nil {
		return nil
	}
	var refs []v1.Descriptor
	if m.Config != nil {
		refs = append(refs, *m.Config)
	}
	refs = append(refs, m.Layers...)
	return append(refs, m.Manifests...)
}

// newEvent renders e as distribution would, under id. scheme ("http" or
// "https") builds the target's URL from the host the client named.
func newEvent(e *recorded, id, scheme string, src Source) Event {
	ev := Event{
		ID:        id,
		Timestamp: e.Time.UTC(),
		Action:    string(e.Action),
		Target: Target{
			MediaType:      e.MediaType,
			Size:           e.Size,
			Digest:         string(e.Digest),
			Length:         e.Size,
			Repository:     e.Repository,
			FromRepository: e.From,
			Tag:            e.Tag,
			References:     e.refs,
		},
		Request: Request{ID: e.RequestID, Addr: e.AddrString(), Host: e.Host, Method: method(&e.Event), UserAgent: e.UserAgent},
		Actor:   Actor{Name: e.Actor},
		Source:  src,
	}
	if ev.Timestamp.IsZero() {
		ev.Timestamp = time.Now().UTC()
	}
	if !e.Manifest() && e.Digest != "" && e.Action != events.Delete {
		ev.Target.MediaType = blobMediaType
	}
	if e.Host != "" && e.Digest != "" && e.Action != events.Delete {
		kind := "blobs"
		if e.Manifest() {
			kind = "manifests"
		}
		ev.Target.URL = scheme + "://" + e.Host + "/v2/" + e.Repository + "/" + kind + "/" + string(e.Digest)
	}
	return ev
}

// method is the HTTP method of the request an action comes from.
func method(e *events.Event) string {
	switch e.Action {
	case events.Pull:
		return http.MethodGet
	case events.Delete:
		return http.MethodDelete
	case events.Mount:
		return http.MethodPost
	}
	return http.MethodPut
}

// envelope wraps rendered events in the body of one delivery. They are
// json.Marshal's output already: joined as they are, not decoded and
// encoded again.
func envelope(events [][]byte) []byte {
	size := len(`{"events":[]}`)
	for _, ev := range events {
		size += len(ev) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"events":[`...)
	for i, ev := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, ev...)
	}
	return append(b, "]}"...)
}
