package notify

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// sameAsMarshal fails t unless appendEvent writes what json.Marshal does.
func sameAsMarshal(t *testing.T, ev *Event) {
	t.Helper()
	want, werr := json.Marshal(ev)
	got, gerr := appendEvent([]byte("prefix"), ev)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("appendEvent error %v; json.Marshal's %v", gerr, werr)
	}
	if werr == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Errorf("appendEvent wrote\n%s\nwant json.Marshal's\nprefix%s", got, want)
	}
}

// TestAppendEventIsMarshal: the hand-written rendering is json.Marshal's,
// empty fields left out as omitempty does, strings that need escaping
// escaped alike, references and a timestamp out of JSON's range included.
func TestAppendEventIsMarshal(t *testing.T) {
	t.Parallel()
	d := digest.FromString("m").String()
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	full := Event{ID: "5b0c7e1e-5a4a-4a8e-9e7e-2d1f1b7a1c53", Timestamp: at, Action: "push",
		Target: Target{MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 42, Digest: d, Length: 42, Repository: "team/app",
			FromRepository: "other/app", URL: "https://reg.example/v2/team/app/manifests/" + d, Tag: "v1",
			References: []v1.Descriptor{{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digest.Digest(d), Size: 7, Annotations: map[string]string{"<a>": "&"}}}},
		Request: Request{ID: "req", Addr: "10.0.0.1", Host: "reg.example", Method: "PUT", UserAgent: "docker/27"},
		Actor:   Actor{Name: "alice"}, Source: Source{Addr: "reg.example:5000", InstanceID: "inst"}}
	hostile := full
	hostile.Target.Tag = "a\"b\\c\n\r\t\b\f\x00\x1f<script>&amp;\u2028\u2029é€😀\xff\xfe"
	hostile.Request.UserAgent = "curl/8 \x7f \xc3\x28 \xe2\x82"
	hostile.Actor.Name = "</actor>"
	for name, ev := range map[string]Event{
		"every field":  full,
		"empty":        {},
		"only request": {Request: Request{Method: "GET"}},
		"hostile":      hostile,
		"local time":   {Timestamp: at.In(time.FixedZone("x", 3600+1800))},
		"year 10000":   {Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"negative":     {Target: Target{Size: -1, Length: -9223372036854775808}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sameAsMarshal(t, &ev)
		})
	}
}

// FuzzAppendEvent compares appendEvent with json.Marshal on any strings:
//
//	go test -run '^$' -fuzz FuzzAppendEvent -fuzztime 30s ./internal/notify/
func FuzzAppendEvent(f *testing.F) {
	f.Add("team/app", "v1", "docker/27", "alice", int64(42))
	f.Add("<&>", "\u2028\xff", "\x00\x1f\"\\", "é€😀", int64(-1))
	f.Fuzz(func(t *testing.T, repo, tag, ua, actor string, size int64) {
		ev := Event{ID: "id", Timestamp: time.Unix(size%(1<<34), size%1e9).UTC(), Action: "pull",
			Target:  Target{Repository: repo, Tag: tag, Size: size, Length: size, Digest: tag + repo},
			Request: Request{UserAgent: ua, Host: repo, Method: "GET"}, Actor: Actor{Name: actor}, Source: Source{InstanceID: tag}}
		sameAsMarshal(t, &ev)
	})
}
