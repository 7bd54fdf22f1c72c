package notify

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendEvent appends ev's JSON to b, byte for byte what json.Marshal
// writes (TestAppendEventIsMarshal and FuzzAppendEvent compare the two):
// a busy registry renders thousands of events a second, and reflection
// took most of a flush's rendering.
func appendEvent(b []byte, ev *Event) ([]byte, error) {
	if y := ev.Timestamp.Year(); y < 0 || y > 9999 {
		// json.Marshal's error, which a timestamp from the clock never has.
		out, err := json.Marshal(ev)
		return append(b, out...), err
	}
	b = append(b, `{"id":`...)
	b = appendString(b, ev.ID)
	b = append(b, `,"timestamp":"`...)
	b = ev.Timestamp.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","action":`...)
	b = appendString(b, ev.Action)
	b = append(b, `,"target":{`...)
	t := &ev.Target
	o := object{b: b}
	o.str("mediaType", t.MediaType)
	o.int("size", t.Size)
	o.str("digest", t.Digest)
	o.int("length", t.Length)
	o.str("repository", t.Repository)
	o.str("fromRepository", t.FromRepository)
	o.str("url", t.URL)
	o.str("tag", t.Tag)
	if len(t.References) > 0 {
		refs, err := json.Marshal(t.References)
		if err != nil {
			return b, err
		}
		o.key("references")
		o.b = append(o.b, refs...)
	}
	b = append(o.b, `},"request":{"id":`...)
	b = appendString(b, ev.Request.ID)
	o = object{b: b, more: true}
	o.str("addr", ev.Request.Addr)
	o.str("host", ev.Request.Host)
	b = append(o.b, `,"method":`...)
	b = appendString(b, ev.Request.Method)
	b = append(b, `,"useragent":`...)
	b = appendString(b, ev.Request.UserAgent)
	b = append(b, `},"actor":{`...)
	o = object{b: b}
	o.str("name", ev.Actor.Name)
	b = append(o.b, `},"source":{`...)
	o = object{b: b}
	o.str("addr", ev.Source.Addr)
	o.str("instanceID", ev.Source.InstanceID)
	return append(o.b, "}}"...), nil
}

// object appends the members of a JSON object that omit their empty
// values (omitempty), with the commas between them.
type object struct {
	b    []byte
	more bool // a member is written already
}

func (o *object) key(k string) {
	if o.more {
		o.b = append(o.b, ',')
	}
	o.more = true
	o.b = append(append(append(o.b, '"'), k...), `":`...)
}

func (o *object) str(k, v string) {
	if v != "" {
		o.key(k)
		o.b = appendString(o.b, v)
	}
}

func (o *object) int(k string, v int64) {
	if v != 0 {
		o.key(k)
		o.b = strconv.AppendInt(o.b, v, 10)
	}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string as encoding/json writes it with
// HTML escaping (its default): control characters, '"', '\\', '<', '>' and
// '&' escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped. (After
// encoding/json's appendString, Go's BSD licence.)
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(append(dst, s[start:]...), '"')
}
