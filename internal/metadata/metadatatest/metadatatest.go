package metadatatest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// Run runs the conformance suite against the stores open returns. Every
// subtest gets a fresh store and runs in parallel with the others, so open
// must not share state between calls (use t.TempDir) and should close the
// store with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) *metadata.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s *metadata.Store)
	}{
		{"Ping", testPing},
		{"RefreshTokens", testRefreshTokens},
		{"Sessions", testSessions},
		{"Users", testUsers},
		{"UserSessions", testUserSessions},
		{"Teams", testTeams},
		{"ACLRules", testACLRules},
		{"AccessTokens", testAccessTokens},
		{"IdentityAt", testIdentityAt},
		{"AddBlob", testAddBlob},
		{"AddBlobIdempotent", testAddBlobIdempotent},
		{"LinkBlob", testLinkBlob},
		{"CommitUploadConcurrent", testCommitUploadConcurrent},
		{"BatchedWritesFailAlone", testBatchedWritesFailAlone},
		{"UnlinkBlob", testUnlinkBlob},
		{"PutGetManifest", testPutGetManifest},
		{"LookupManifest", testLookupManifest},
		{"PutManifestDefaults", testPutManifestDefaults},
		{"GetManifestNotFound", testGetManifestNotFound},
		{"MissingReferences", testMissingReferences},
		{"CachedManifest", testCachedManifest},
		{"CachedOrigin", testCachedOrigin},
		{"InvalidManifests", testInvalidManifests},
		{"RepushManifest", testRepushManifest},
		{"IndexReferences", testIndexReferences},
		{"TagMoves", testTagMoves},
		{"DeleteManifest", testDeleteManifest},
		{"DeleteManifestRepushRefs", testDeleteManifestRepushRefs},
		{"SameDigestTwoRepos", testSameDigestTwoRepos},
		{"ResolveTagNotFound", testResolveTagNotFound},
		{"DeleteTag", testDeleteTag},
		{"ListTagsPagination", testListTagsPagination},
		{"ListTagsSeesChanges", testListTagsSeesChanges},
		{"ListTagsByteOrder", testListTagsByteOrder},
		{"ListTagsRepositoryStates", testListTagsRepositoryStates},
		{"ListTagsThousands", testListTagsThousands},
		{"ListRepositories", testListRepositories},
		{"ListRepositoriesPagination", testListRepositoriesPagination},
		{"Referrers", testReferrers},
		{"ReferrersPagination", testReferrersPagination},
		{"ReferrersCursorStable", testReferrersCursorStable},
		{"ReferrersMaxBytes", testReferrersMaxBytes},
		{"UploadLifecycle", testUploadLifecycle},
		{"UploadErrors", testUploadErrors},
		{"UploadDefaultTimes", testUploadDefaultTimes},
		{"StaleUploads", testStaleUploads},
		{"ConcurrentPutSameTag", testConcurrentPutSameTag},
		{"ConcurrentAddBlob", testConcurrentAddBlob},
		{"ConcurrentMixedWrites", testConcurrentMixedWrites},
		{"ConcurrentDeletes", testConcurrentDeletes},
		{"ConcurrentSameManifest", testConcurrentSameManifest},
		{"ConcurrentCreateSameName", testConcurrentCreateSameName},
		{"KeysByteExact", testKeysByteExact},
		{"ListRepositoriesLast", testListRepositoriesLast},
		{"LongKeys", testLongKeys},
		{"GCCandidates", testGCCandidates},
		{"GCDeleteBlob", testGCDeleteBlob},
		{"GCSweepRace", testGCSweepRace},
		{"GCLease", testGCLease},
		{"GCDeleteUntaggedBatch", testGCDeleteUntaggedBatch},
		{"GCRecordedBlobs", testGCRecordedBlobs},
		{"GCDeleteBlobsMixed", testGCDeleteBlobsMixed},
		{"Fsck", testFsck},
		{"AuditInsertList", testAuditInsertList},
		{"AuditFilters", testAuditFilters},
		{"AuditCursor", testAuditCursor},
		{"AuditRetention", testAuditRetention},
		{"AuditBatches", testAuditBatches},
		{"PullTimes", testPullTimes},
		{"RepositoryState", testRepositoryState},
		{"RetentionDeletes", testRetentionDeletes},
		{"RetentionUsedSince", testRetentionUsedSince},
		{"ImmutableTags", testImmutableTags},
		{"ImmutableTagRace", testImmutableTagRace},
		{"ReadOnly", testReadOnly},
		{"RepositoryStats", testRepositoryStats},
		{"AddedBytes", testAddedBytes},
		{"DeleteRepository", testDeleteRepository},
		{"NotifyQueue", testNotifyQueue},
		{"NotifyRetry", testNotifyRetry},
		{"NotifyBatches", testNotifyBatches},
		{"NotifyBacklogBound", testNotifyBacklogBound},
		{"NotifyRowsOfEvents", testNotifyRowsOfEvents},
		{"NotifyLease", testNotifyLease},
		{"ReplicationRules", testReplicationRules},
		{"UpstreamCredentials", testUpstreamCredentials},
		{"CopyAll", testCopyAll},
		{"TokenKeys", testTokenKeys},
		{"SignIns", testSignIns},
		{"DropLease", testDropLease},
		{"DropExpiredLeases", testDropExpiredLeases},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// Media types used by the fixtures.
const (
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaIndex    = "application/vnd.oci.image.index.v1+json"
	typeImage     = "application/vnd.oci.image.config.v1+json"
	typeSBOM      = "application/spdx+json"
	typeSignature = "application/vnd.dev.cosign.artifact.sig.v1+json"
)

// created is a fixed creation time with nanoseconds, to check precision.
var created = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// addBlob adds a blob holding content to repo and returns its digest.
func addBlob(t *testing.T, s *metadata.Store, repo, content string) digest.Digest {
	t.Helper()
	d := digest.FromString(content)
	if err := s.AddBlob(t.Context(), repo, d, int64(len(content))); err != nil {
		t.Fatalf("AddBlob(%q, %s): %v", repo, d, err)
	}
	return d
}

// image returns an image manifest in repo whose payload is derived from
// name, referring to blobs as its config and layers.
func image(repo, name string, blobs ...digest.Digest) *metadata.Manifest {
	payload := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"name":%q,"blobs":%q}`, mediaManifest, name, blobs)
	m := &metadata.Manifest{
		Repo:         repo,
		Digest:       digest.FromBytes(payload),
		MediaType:    mediaManifest,
		ArtifactType: typeImage,
		Size:         int64(len(payload)),
		Payload:      payload,
		CreatedAt:    created,
	}
	for _, b := range blobs {
		m.Refs = append(m.Refs, metadata.Ref{Digest: b, Kind: metadata.RefBlob})
	}
	return m
}

// index returns an image index in repo referring to children.
func index(repo, name string, children ...digest.Digest) *metadata.Manifest {
	payload := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"name":%q,"manifests":%q}`, mediaIndex, name, children)
	m := &metadata.Manifest{
		Repo:      repo,
		Digest:    digest.FromBytes(payload),
		MediaType: mediaIndex,
		Size:      int64(len(payload)),
		Payload:   payload,
		CreatedAt: created,
	}
	for _, c := range children {
		m.Refs = append(m.Refs, metadata.Ref{Digest: c, Kind: metadata.RefManifest})
	}
	return m
}

// put stores m with tags and fails the test on error.
func put(t *testing.T, s *metadata.Store, m *metadata.Manifest, tags ...string) {
	t.Helper()
	if err := s.PutManifest(t.Context(), m, tags); err != nil {
		t.Fatalf("PutManifest(%s, %s, %q): %v", m.Repo, m.Digest, tags, err)
	}
}

// pushImage adds one blob to repo and stores an image referring to it.
func pushImage(t *testing.T, s *metadata.Store, repo, name string, tags ...string) *metadata.Manifest {
	t.Helper()
	m := image(repo, name, addBlob(t, s, repo, "layer of "+name))
	put(t, s, m, tags...)
	return m
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// wantTags checks the full tag list of repo.
func wantTags(t *testing.T, s *metadata.Store, repo string, want []string) {
	t.Helper()
	got, err := s.ListTags(t.Context(), repo, "", 0)
	if err != nil {
		t.Fatalf("ListTags(%q): %v", repo, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListTags(%q) mismatch (-want +got):\n%s", repo, diff)
	}
}

// wantResolve checks what tag points at.
func wantResolve(t *testing.T, s *metadata.Store, repo, tag string, want digest.Digest) {
	t.Helper()
	got, err := s.ResolveTag(t.Context(), repo, tag)
	if err != nil {
		t.Fatalf("ResolveTag(%q, %q): %v", repo, tag, err)
	}
	if got != want {
		t.Errorf("ResolveTag(%q, %q) = %s, want %s", repo, tag, got, want)
	}
}

// wantNoRepo checks that repo was never created.
func wantNoRepo(t *testing.T, s *metadata.Store, repo string) {
	t.Helper()
	_, err := s.ListTags(t.Context(), repo, "", 0)
	wantErr(t, fmt.Sprintf("ListTags(%q)", repo), err, metadata.ErrNotFound)
}

func testPing(t *testing.T, s *metadata.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Ping(ctx); err == nil {
		t.Errorf("Ping with a cancelled context: got nil error")
	}
}
