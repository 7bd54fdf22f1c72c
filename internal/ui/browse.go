package ui

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/edge"
	"wharf/internal/errcode"
	"wharf/internal/events"
	"wharf/internal/metadata"
	"wharf/internal/registry"
)

const (
	// reposPage and tagsPage are the rows a page shows.
	reposPage = 50
	tagsPage  = 50
	// maxTagPages bounds a page number from the URL (the offset SQL skips).
	maxTagPages = 1 << 20
	// scanBatch is how many repositories one query reads while a page
	// fills; maxScan bounds the repositories one page asks the ACL about,
	// so that a user who may pull few of many gets a "more" link rather
	// than a request that reads the whole registry.
	scanBatch = 200
	maxScan   = 10000
	// maxReferrers bounds the referrers a manifest page lists.
	maxReferrers = 100
	// maxQuery bounds a search or cursor taken from the URL.
	maxQuery = 512
)

type namespace struct {
	Name  string
	Repos []metadata.RepositoryStats
}

type reposData struct {
	Session    *session
	Query      string
	Namespaces []namespace
	Count      int
	Next       string
}

// repositories lists the repositories the session may pull, a page at a
// time in name order: batches of names come from SQL (keyset on the last
// name), each name is put to the ACL as a pull's scope would be (nothing
// is guessed from the rules' patterns), and only the names shown are
// counted and sized.
func (u *UI) repositories(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	prefix, after := q.Get("q"), q.Get("after")
	if len(prefix) > maxQuery || len(after) > maxQuery {
		u.fail(w, r, errcode.PageInvalid, "The search is too long.", nil)
		return
	}
	var shown []string
	cursor, scanned, next := after, 0, ""
scan:
	for scanned < maxScan {
		batch, err := u.cfg.Meta.RepositoryNames(r.Context(), prefix, cursor, scanBatch)
		if err != nil {
			u.fail(w, r, errcode.PageUnavailable, "The repositories cannot be listed now; try again later.", err)
			return
		}
		for _, name := range batch {
			scanned++
			cursor = name
			granted, err := u.allowed(r, s, name, "pull")
			if err != nil {
				u.fail(w, r, errcode.PageUnavailable, "Access cannot be decided now; try again later.", err)
				return
			}
			if !slices.Contains(granted, "pull") {
				continue
			}
			if len(shown) == reposPage {
				next = shown[len(shown)-1]
				break scan
			}
			shown = append(shown, name)
		}
		if len(batch) < scanBatch {
			break
		}
	}
	if next == "" && scanned >= maxScan {
		next = cursor // more names to ask about on the next page
	}
	// Sizes and counts for the page's repositories only, in a few queries.
	stats, err := u.cfg.Meta.RepositoryStatsOf(r.Context(), shown)
	if err != nil {
		u.fail(w, r, errcode.PageUnavailable, "The repositories cannot be listed now; try again later.", err)
		return
	}
	data := reposData{Session: s, Query: prefix, Count: len(stats), Namespaces: groupByNamespace(stats)}
	if next != "" {
		v := url.Values{"after": {next}}
		if prefix != "" {
			v.Set("q", prefix)
		}
		data.Next = Prefix + "?" + v.Encode()
	}
	u.render(w, r, http.StatusOK, "repos.html", data)
}

// groupByNamespace groups name-ordered repositories by what comes before
// their last slash ("" for top-level names), keeping the order.
func groupByNamespace(repos []metadata.RepositoryStats) []namespace {
	var out []namespace
	for _, repo := range repos {
		ns := ""
		if i := strings.LastIndex(repo.Name, "/"); i >= 0 {
			ns = repo.Name[:i]
		}
		if len(out) == 0 || out[len(out)-1].Name != ns {
			out = append(out, namespace{Name: ns})
		}
		out[len(out)-1].Repos = append(out[len(out)-1].Repos, repo)
	}
	return out
}

type tagRow struct {
	Name      string
	Digest    digest.Digest
	UpdatedAt time.Time
	Manifest  *parsed
}

type repoData struct {
	Session          *session
	Name, Host       string
	Tags             []tagRow
	Total            int
	Sort, Order      string
	Page, Pages      int
	CanDelete        bool
	PrevURL, NextURL string
}

// pullable answers 404 unless the session may pull repo: a repository the
// user may not see and one that does not exist look the same.
func (u *UI) pullable(w http.ResponseWriter, r *http.Request, s *session, repo string, actions ...string) ([]string, bool) {
	granted, err := u.allowed(r, s, repo, append([]string{"pull"}, actions...)...)
	if err != nil {
		u.fail(w, r, errcode.PageUnavailable, "Access cannot be decided now; try again later.", err)
		return nil, false
	}
	if !slices.Contains(granted, "pull") {
		u.log.InfoContext(r.Context(), "web interface: repository not shown", "account", s.Account(), "repository", repo)
		u.notFound(w, r)
		return nil, false
	}
	return granted, true
}

func (u *UI) notFound(w http.ResponseWriter, r *http.Request) {
	u.fail(w, r, errcode.PageNotFound, "There is no such repository, or you may not pull it.", nil)
}

func (u *UI) canDelete(granted []string) bool {
	return u.cfg.DeleteEnabled && slices.Contains(granted, "delete")
}

// repository shows a repository's tags, sorted by name or by update time,
// a page at a time (SQL pages them on an index), with the shown tags'
// manifests read in one query for their sizes and platforms.
func (u *UI) repository(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	granted, ok := u.pullable(w, r, s, name, "delete")
	if !ok {
		return
	}
	q := r.URL.Query()
	d := repoData{Session: s, Name: name, Host: hostOf(r), Sort: "name", Order: "asc", CanDelete: u.canDelete(granted)}
	tq := metadata.TagPageQuery{Limit: tagsPage}
	if q.Get("sort") == "updated" {
		d.Sort, tq.ByUpdated = "updated", true
	}
	if q.Get("order") == "desc" {
		d.Order, tq.Desc = "desc", true
	}
	d.Page, _ = strconv.Atoi(q.Get("page"))
	d.Page = min(max(d.Page, 1), maxTagPages)
	tq.Offset = (d.Page - 1) * tagsPage
	page, total, err := u.cfg.Meta.TagPage(r.Context(), name, tq)
	if errors.Is(err, metadata.ErrNotFound) {
		u.notFound(w, r)
		return
	}
	if err != nil {
		u.fail(w, r, errcode.PageUnavailable, "The tags cannot be listed now; try again later.", err)
		return
	}
	d.Total = int(total)
	d.Pages = max(1, (d.Total+tagsPage-1)/tagsPage)
	digests := make([]digest.Digest, 0, len(page))
	for _, t := range page {
		digests = append(digests, t.Digest)
	}
	// The page's manifests in one query, not one per tag.
	manifests, err := u.cfg.Meta.ManifestPayloads(r.Context(), name, digests)
	if err != nil {
		u.fail(w, r, errcode.PageUnavailable, "The manifests cannot be read now; try again later.", err)
		return
	}
	for _, t := range page {
		row := tagRow{Name: t.Name, Digest: t.Digest, UpdatedAt: t.UpdatedAt}
		if m, ok := manifests[t.Digest]; ok {
			row.Manifest = parseManifest(m)
		}
		d.Tags = append(d.Tags, row)
	}
	link := func(p int) string {
		v := url.Values{"sort": {d.Sort}, "order": {d.Order}, "page": {strconv.Itoa(p)}}
		return repoPath(name) + "?" + v.Encode()
	}
	if d.Page > 1 {
		d.PrevURL = link(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.NextURL = link(d.Page + 1)
	}
	u.render(w, r, http.StatusOK, "repo.html", d)
}

type referrerGroup struct {
	ArtifactType string
	Referrers    []metadata.Descriptor
}

type manifestData struct {
	Session       *session
	Repo, Ref     string
	Host          string
	Manifest      *parsed
	Config        *imageConfig
	ConfigProblem string
	Referrers     []referrerGroup
	MoreReferrers bool
	CanDelete     bool
}

// manifest shows one manifest: an index's platforms, or an image's layers
// and config; and what refers to it, by artifact type.
func (u *UI) manifest(w http.ResponseWriter, r *http.Request, s *session) {
	name, ref := r.PathValue("name"), r.URL.Query().Get("ref")
	granted, ok := u.pullable(w, r, s, name, "delete")
	if !ok {
		return
	}
	if ref == "" || len(ref) > maxQuery {
		u.fail(w, r, errcode.PageInvalid, "Name a tag or a digest (ref=).", nil)
		return
	}
	m, err := u.cfg.Registry.GetManifest(r.Context(), name, ref)
	if err != nil {
		u.manifestError(w, r, err)
		return
	}
	d := manifestData{Session: s, Repo: name, Ref: ref, Host: hostOf(r), Manifest: parseManifest(m), CanDelete: u.canDelete(granted)}
	if c := d.Manifest.Config; !d.Manifest.IsIndex && c.Digest != "" && isImageConfig(c.MediaType) {
		if d.Config, err = u.readConfig(r.Context(), name, c); err != nil {
			u.log.WarnContext(r.Context(), "web interface: config not shown", "repository", name, "config", c.Digest, "err", err)
			d.ConfigProblem = "The image's config cannot be read; the server log says why."
		}
	}
	refs, more, err := u.cfg.Registry.Referrers(r.Context(), name, m.Digest, "", "", maxReferrers)
	if err != nil {
		u.fail(w, r, errcode.PageUnavailable, "The referrers cannot be listed now; try again later.", err)
		return
	}
	d.MoreReferrers = more
	slices.SortStableFunc(refs, func(a, b metadata.Descriptor) int { return cmp.Compare(a.ArtifactType, b.ArtifactType) })
	for _, ref := range refs {
		if n := len(d.Referrers); n == 0 || d.Referrers[n-1].ArtifactType != ref.ArtifactType {
			d.Referrers = append(d.Referrers, referrerGroup{ArtifactType: ref.ArtifactType})
		}
		g := &d.Referrers[len(d.Referrers)-1]
		g.Referrers = append(g.Referrers, ref)
	}
	u.render(w, r, http.StatusOK, "manifest.html", d)
}

func (u *UI) manifestError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, registry.ErrManifestUnknown), errors.Is(err, registry.ErrNameUnknown):
		u.fail(w, r, errcode.PageNotFound, "There is no such tag or manifest in this repository.", nil)
	case errors.Is(err, registry.ErrTagInvalid), errors.Is(err, registry.ErrDigestInvalid):
		u.fail(w, r, errcode.PageInvalid, "That is neither a tag nor a digest.", nil)
	default:
		u.fail(w, r, errcode.PageUnavailable, "The manifest cannot be read now; try again later.", err)
	}
}

type deleteData struct {
	Session   *session
	Repo, Ref string
	IsDigest  bool
	Tags      []string
}

// confirmDelete asks before a tag or a manifest is deleted; the delete
// itself is the form's POST.
func (u *UI) confirmDelete(w http.ResponseWriter, r *http.Request, s *session) {
	name, ref := r.PathValue("name"), r.URL.Query().Get("ref")
	if !u.deletable(w, r, s, name) {
		return
	}
	m, err := u.cfg.Registry.GetManifest(r.Context(), name, ref)
	if err != nil {
		u.manifestError(w, r, err)
		return
	}
	d := deleteData{Session: s, Repo: name, Ref: ref, IsDigest: strings.Contains(ref, ":")}
	if d.IsDigest {
		tags, err := u.cfg.Meta.RepositoryTags(r.Context(), name)
		if err != nil {
			u.fail(w, r, errcode.PageUnavailable, "The tags cannot be listed now; try again later.", err)
			return
		}
		for _, t := range tags {
			if t.Digest == m.Digest {
				d.Tags = append(d.Tags, t.Name)
			}
		}
	}
	u.render(w, r, http.StatusOK, "delete.html", d)
}

// delete deletes a tag, or a manifest with every tag on it, as the
// registry's DELETE does (immutable tags and read-only mode refuse it).
func (u *UI) delete(w http.ResponseWriter, r *http.Request, s *session) {
	name, ref := r.PathValue("name"), r.PostForm.Get("ref")
	if !u.deletable(w, r, s, name) {
		return
	}
	if err := u.cfg.Registry.CheckWritable(r.Context()); err != nil {
		u.fail(w, r, errcode.PageUnavailable, "The registry is read-only now; nothing can be deleted.", err)
		return
	}
	if err := u.cfg.Registry.DeleteManifest(r.Context(), name, ref); err != nil {
		if errors.Is(err, registry.ErrManifestUnknown) || errors.Is(err, registry.ErrTagInvalid) || errors.Is(err, registry.ErrDigestInvalid) {
			u.manifestError(w, r, err)
			return
		}
		u.fail(w, r, errcode.PageDenied, "The delete was refused: "+deleteRefusal(err), err)
		return
	}
	u.log.InfoContext(r.Context(), "web interface: deleted", "account", s.Account(), "repository", name, "reference", ref,
		"ip", u.cfg.ClientIP(r))
	u.recordDelete(r, s, name, ref)
	http.Redirect(w, r, repoPath(name), http.StatusSeeOther)
}

// deleteRefusal says why the registry refused a delete, without the
// error's inner details.
func deleteRefusal(err error) string {
	if errors.Is(err, registry.ErrTagImmutable) {
		return "the tag is immutable (immutable_tags)."
	}
	return "the server log has the details."
}

// deletable answers 404 unless the session may pull the repository, and
// 403 unless it may delete in it too (and storage.delete is on).
func (u *UI) deletable(w http.ResponseWriter, r *http.Request, s *session, name string) bool {
	granted, ok := u.pullable(w, r, s, name, "delete")
	if !ok {
		return false
	}
	if !u.canDelete(granted) {
		u.fail(w, r, errcode.PageDenied, "You may not delete in this repository (or deletes are off: storage.delete).", nil)
		return false
	}
	return true
}

// hostOf is the registry's name as the browser reached it, for the docker
// pull commands: the public host behind a trusted proxy.
func hostOf(r *http.Request) string { return edge.PublicOf(r).Host }

// repoPath is the page of a repository.
func repoPath(name string) string { return Prefix + "repos/" + escapePath(name) }

// escapePath escapes each segment of a repository name, keeping its
// slashes.
func escapePath(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// recordDelete tells the event sinks of a delete, as the registry API does
// for a DELETE of the same reference.
func (u *UI) recordDelete(r *http.Request, s *session, repo, ref string) {
	if u.cfg.Events == nil {
		return
	}
	pub := edge.PublicOf(r)
	e := events.Event{Time: u.cfg.Now(), Action: events.Delete, Repository: repo, Actor: s.Account(), Addr: u.cfg.ClientIP(r),
		Host: pub.Host, RequestID: edge.RequestID(r.Context()), UserAgent: r.UserAgent()}
	if strings.Contains(ref, ":") {
		e.Digest = digest.Digest(ref)
	} else {
		e.Tag = ref
	}
	u.cfg.Events.Record(&e)
}
