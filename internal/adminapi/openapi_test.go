package adminapi

import (
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"wharf/internal/audit"
	"wharf/internal/authstack"
	"wharf/internal/errcode"
	"wharf/internal/metadata"
	"wharf/internal/replicate"
	"wharf/internal/retention"
	"wharf/internal/upstreamcreds"
)

const openAPIPath = "../../docs/api/openapi.yaml"

// openAPI is the part of the document the tests read.
type openAPI struct {
	OpenAPI string `yaml:"openapi"`
	Servers []struct {
		URL string `yaml:"url"`
	} `yaml:"servers"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Schemas map[string]schema `yaml:"schemas"`
	} `yaml:"components"`
}

type schema struct {
	Properties map[string]yaml.Node `yaml:"properties"`
	AllOf      []schema             `yaml:"allOf"`
}

type operation struct {
	Parameters  []parameter          `yaml:"parameters"`
	Responses   map[string]yaml.Node `yaml:"responses"`
	RequestBody any                  `yaml:"requestBody"`
}

type parameter struct {
	Ref  string `yaml:"$ref"`
	Name string `yaml:"name"`
	In   string `yaml:"in"`
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

func loadOpenAPI(t *testing.T) (openAPI, *yaml.Node) {
	t.Helper()
	b, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", openAPIPath, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || len(doc.Servers) != 1 || doc.Servers[0].URL+"/" != Prefix {
		t.Fatalf("openapi %q, servers %+v: want 3.1.0 and one server at %s", doc.OpenAPI, doc.Servers, strings.TrimSuffix(Prefix, "/"))
	}
	return doc, &root
}

// documented lists "METHOD path" for every operation of the document.
func documented(doc openAPI) []string {
	var out []string
	for path, item := range doc.Paths {
		for method := range item {
			if slices.Contains(httpMethods, method) {
				out = append(out, strings.ToUpper(method)+" "+strings.TrimPrefix(path, "/"))
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIMatchesRoutes: the operations the document lists are the
// routes the API serves, no more and no fewer, and the mux sends a request
// for each of them to that route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	a := &API{}
	a.mux = a.newMux()
	var served []string
	for _, rt := range Routes() {
		served = append(served, rt.Method+" "+rt.Path)
	}
	sort.Strings(served)
	docOps := documented(doc)
	for _, op := range docOps {
		if !slices.Contains(served, op) {
			t.Errorf("the document lists %s, which the API does not serve", op)
		}
	}
	for _, op := range served {
		if !slices.Contains(docOps, op) {
			t.Errorf("the API serves %s, which the document does not list", op)
		}
	}
	wildcard := regexp.MustCompile(`\{[a-z_]+\}`)
	for _, op := range docOps {
		method, path, _ := strings.Cut(op, " ")
		req := httptest.NewRequest(method, Prefix+wildcard.ReplaceAllString(path, "x1"), nil)
		if _, pattern := a.mux.Handler(req); pattern != method+" "+Prefix+path {
			t.Errorf("%s %s is routed to %q", method, req.URL.Path, pattern)
		}
	}
}

// TestOpenAPIOperations: every operation declares its path parameters and
// the answers every request may get; every $ref resolves.
func TestOpenAPIOperations(t *testing.T) {
	doc, root := loadOpenAPI(t)
	param := regexp.MustCompile(`\{([a-z_]+)\}`)
	for path, item := range doc.Paths {
		var shared []parameter
		if n, ok := item["parameters"]; ok {
			if err := n.Decode(&shared); err != nil {
				t.Fatal(err)
			}
		}
		for method, n := range item {
			if !slices.Contains(httpMethods, method) {
				continue
			}
			var op operation
			if err := n.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			declared := map[string]bool{}
			for _, p := range append(slices.Clone(shared), op.Parameters...) {
				if p.Ref != "" {
					p = refParam(t, root, p.Ref)
				}
				if p.In == "path" {
					declared[p.Name] = true
				}
			}
			for _, m := range param.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s %s: path parameter %s is not declared", method, path, m[1])
				}
			}
			for _, status := range []string{"401", "403", "429", "503"} {
				if _, ok := op.Responses[status]; !ok {
					t.Errorf("%s %s: no %s response", method, path, status)
				}
			}
			if op.RequestBody != nil {
				for _, status := range []string{"400", "408", "413", "415"} {
					if _, ok := op.Responses[status]; !ok {
						t.Errorf("%s %s takes a body but documents no %s response", method, path, status)
					}
				}
			}
		}
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		for i := 0; i < len(n.Content); i++ {
			c := n.Content[i]
			if n.Kind == yaml.MappingNode && i%2 == 0 && c.Value == "$ref" {
				if resolve(root, n.Content[i+1].Value) == nil {
					t.Errorf("line %d: $ref %s does not resolve", c.Line, n.Content[i+1].Value)
				}
			}
			walk(c)
		}
	}
	walk(root)
}

// TestOpenAPISchemas: the members of the document's schemas are the JSON
// members of the types the API reads and writes.
func TestOpenAPISchemas(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	b, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{
		"User": User{}, "UserList": userList{}, "NewUser": newUserRequest{}, "UserPatch": patchUserRequest{}, "Password": passwordRequest{},
		"Team": Team{}, "TeamList": teamList{}, "NewTeam": newTeamRequest{},
		"Rule": Rule{}, "Match": Match{}, "NewRule": newRuleRequest{}, "RuleMove": moveRuleRequest{}, "RuleList": ruleList{},
		"Warning": Warning{}, "Explanation": Explanation{},
		"Token": Token{}, "TokenList": tokenList{}, "NewToken": newTokenRequest{},
		"ReadOnly": ReadOnlyView{}, "ReadOnlyChange": readOnlyRequest{}, "RetentionRun": retentionRequest{},
		"RetentionItem": retention.Item{}, "RetentionDecision": retention.Decision{}, "RetentionReport": retention.Report{},
		"Repository": Repository{}, "RepositoryList": repositoryList{}, "RepositoryDetail": RepositoryDetail{},
		"Tag": metadata.TagInfo{}, "DeletedRepository": DeletedRepository{}, "AuditRecord": audit.View{},
		"ReplicationRule": replicate.RuleStatus{}, "ReplicationRun": replicate.RunResult{},
		"UpstreamCredentialChange": upstreamCredentialRequest{},
		"UpstreamCredentialState":  authstack.UpstreamCredentialState{}, "StoredUpstreamCredential": upstreamcreds.Info{},
	} {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s is missing", name)
			continue
		}
		var inDoc []string
		for p := range s.Properties {
			inDoc = append(inDoc, p)
		}
		sort.Strings(inDoc)
		inGo := jsonMembers(reflect.TypeOf(v))
		if name == "Token" {
			inGo = slices.DeleteFunc(inGo, func(m string) bool { return m == "token" }) // CreatedToken only
		}
		if !slices.Equal(inDoc, inGo) {
			t.Errorf("schema %s has %v; the Go type %T has %v", name, inDoc, v, inGo)
		}
	}
	var created []string
	for _, part := range doc.Components.Schemas["CreatedToken"].AllOf {
		for p := range part.Properties {
			created = append(created, p)
		}
	}
	sort.Strings(created)
	if !slices.Equal(created, []string{"token", "warnings"}) {
		t.Errorf("CreatedToken adds %v to Token; want [token warnings]", created)
	}
	for _, d := range errcode.Descriptors() {
		if d.Family == errcode.Admin && !strings.Contains(string(b), d.Value) {
			t.Errorf("error code %s is not in the document", d.Value)
		}
	}
}

func jsonMembers(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// resolve finds the node a local $ref ("#/a/b") points at.
func resolve(root *yaml.Node, ref string) *yaml.Node {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	n := root
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	for _, key := range strings.Split(path, "/") {
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

func refParam(t *testing.T, root *yaml.Node, ref string) parameter {
	t.Helper()
	n := resolve(root, ref)
	if n == nil {
		t.Fatalf("$ref %s does not resolve", ref)
	}
	var p parameter
	if err := n.Decode(&p); err != nil {
		t.Fatal(err)
	}
	return p
}
