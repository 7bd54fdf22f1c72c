package cli

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"wharf/internal/audit"
	"wharf/internal/metadata"
)

// TestAuditCommands: account commands record their changes as the
// operating-system user through the cli; audit ls shows them as a table or
// JSON lines, filters, pages with a cursor and refuses bad filters.
func TestAuditCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	mustCLI(t, "Long enough passw0rd\n", "user", "add", "alice", "--password-stdin", "--data", data)
	mustCLI(t, "", "team", "add", "ops", "--data", data)
	wantFail(t, "", "already exists", "team", "add", "ops", "--data", data)
	store := openData(t, data)
	if err := store.InsertAudit(t.Context(), []metadata.AuditRecord{{Time: time.Now().Add(-48 * time.Hour), Action: "pull",
		Actor: "bob", Repository: "team/app", Target: "v1@sha256:" + strings.Repeat("ab", 32), Outcome: "ok",
		Count: 3, Last: time.Now().Add(-47 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}

	var got []string
	for line := range strings.Lines(mustCLI(t, "", "audit", "ls", "--json", "--data", data)) {
		var v audit.View
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("not one JSON object a line: %q", line)
		}
		got = append(got, v.Action+" "+v.Target+" "+v.Outcome+" "+v.Source+" "+strconv.FormatInt(v.Count, 10))
		if v.Source == "cli" && v.Actor != osUser() {
			t.Errorf("%s by %q; want the operating-system user %q", v.Action, v.Actor, osUser())
		}
	}
	want := []string{"team.create team ops failed cli 1", "team.create team ops ok cli 1", "user.create user alice ok cli 1",
		"pull v1@sha256:" + strings.Repeat("ab", 32) + " ok  3"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit ls --json, newest first:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if out := mustCLI(t, "", "audit", "ls", "--since", "24h", "--action", "team.create", "--data", data); strings.Count(out, "team.create") != 2 || strings.Contains(out, "pull") {
		t.Errorf("audit ls --since 24h --action team.create:\n%s", out)
	}
	if out := mustCLI(t, "", "audit", "ls", "--user", "bob", "--data", data); !strings.Contains(out, "sha256:abababababab ") || !strings.Contains(out, "team/app") ||
		!strings.Contains(out, "pull ×3 ") {
		t.Errorf("audit ls --user bob shows the digest cut to 12 digits and the three folded pulls as pull ×3:\n%s", out)
	}
	out, errOut, err := runCLI(t, "", "audit", "ls", "--limit", "3", "--data", data)
	if err != nil || strings.Count(out, "\n") != 4 || !strings.Contains(errOut, "more records: add --cursor ") {
		t.Fatalf("audit ls --limit 3: %v\n%s%s", err, out, errOut)
	}
	cursor := strings.TrimSpace(strings.TrimPrefix(errOut, "more records: add --cursor "))
	if out := mustCLI(t, "", "audit", "ls", "--limit", "3", "--cursor", cursor, "--data", data); !strings.Contains(out, "bob") || strings.Count(out, "\n") != 2 {
		t.Errorf("the page after the cursor:\n%s", out)
	}
	wantFail(t, "", `--since: "yesterday": want a duration`, "audit", "ls", "--since", "yesterday", "--data", data)
	wantFail(t, "", "--limit: 0: want 1 to 1000", "audit", "ls", "--limit", "0", "--data", data)
	wantFail(t, "", `--cursor "x": not a cursor`, "audit", "ls", "--cursor", "x", "--data", data)
}
