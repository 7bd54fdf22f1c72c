package ui

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"wharf/internal/metadata"
)

// funcs are the templates' helpers: links built from names (escaped
// segment by segment) and figures written for people.
var funcs = template.FuncMap{
	"repoPath": repoPath,
	"manifestPath": func(repo, ref string) string {
		return Prefix + "manifests/" + escapePath(repo) + "?ref=" + url.QueryEscape(ref)
	},
	"deletePath": func(repo, ref string) string {
		return Prefix + "delete/" + escapePath(repo) + "?ref=" + url.QueryEscape(ref)
	},
	"deleteAction": func(repo string) string { return Prefix + "delete/" + escapePath(repo) },
	"bytes":        humanBytes,
	"usageDays":    func() int { return metadata.UsageHistoryDays },
	"short": func(d fmt.Stringer) string {
		s := d.String()
		if _, hex, ok := strings.Cut(s, ":"); ok && len(hex) > 12 {
			return hex[:12]
		}
		return s
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"join": strings.Join,
	// tokenRevoke is where a token's revoke button posts: the personal
	// page's (own tokens only) or the administration's.
	"tokenRevoke": func(own bool, id string) string {
		if own {
			return Prefix + "me/tokens/" + url.PathEscape(id) + "/revoke"
		}
		return Prefix + "admin/tokens/" + url.PathEscape(id) + "/revoke"
	},
	"page": func(title string, s *session) pageHead { return pageHead{Title: title, Session: s} },
}

// pageHead is what the layout needs of every page.
type pageHead struct {
	Title   string
	Session *session
}

// humanBytes writes n in binary units, one decimal ("1.5 MiB").
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
