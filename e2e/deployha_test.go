package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	k8syaml "sigs.k8s.io/yaml"

	"wharf/e2e/harness"
	"wharf/internal/config"
	"wharf/internal/config/resolve"
)

// k8sObjects are the manifests of deploy/k8s, decoded strictly.
type k8sObjects struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	configMaps  map[string]corev1.ConfigMap
	secrets     map[string]corev1.Secret
	claims      map[string]corev1.PersistentVolumeClaim
}

// decodeK8s decodes one YAML document into the Kubernetes API type its
// kind names, refusing unknown and duplicate fields: a misspelled field
// (readinesProbe) is an error, not a setting silently dropped.
func decodeK8s(doc []byte, into *k8sObjects) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := k8syaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	strict := func(want string, v any) error {
		if head.APIVersion != want {
			return fmt.Errorf("%s: apiVersion %q, want %q", head.Kind, head.APIVersion, want)
		}
		return k8syaml.UnmarshalStrict(doc, v)
	}
	switch head.Kind {
	case "Deployment":
		var d appsv1.Deployment
		if err := strict("apps/v1", &d); err != nil {
			return err
		}
		into.deployments = append(into.deployments, d)
	case "Service":
		var s corev1.Service
		if err := strict("v1", &s); err != nil {
			return err
		}
		into.services = append(into.services, s)
	case "ConfigMap":
		var c corev1.ConfigMap
		if err := strict("v1", &c); err != nil {
			return err
		}
		into.configMaps[c.Name] = c
	case "Secret":
		var s corev1.Secret
		if err := strict("v1", &s); err != nil {
			return err
		}
		into.secrets[s.Name] = s
	case "PersistentVolumeClaim":
		var c corev1.PersistentVolumeClaim
		if err := strict("v1", &c); err != nil {
			return err
		}
		into.claims[c.Name] = c
	default:
		return fmt.Errorf("kind %q: the test knows no Kubernetes type for it", head.Kind)
	}
	return nil
}

// yamlDocuments splits a multi-document YAML file.
func yamlDocuments(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(s string) string {
	var out strings.Builder
	for line := range strings.Lines(s) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			out.WriteString(line)
		}
	}
	return out.String()
}

// resolveHA resolves a wharf.yml the way a replica does, with the
// environment its deployment gives it, and returns the configuration.
func resolveHA(t *testing.T, body string, env map[string]string) config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	cfg, err := resolve.Config(resolve.Input{Role: config.RoleAllInOne, Flags: map[string]string{"config": p}, Environ: environ})
	if err != nil {
		t.Fatalf("the replicas' wharf.yml does not resolve: %v", err)
	}
	if cfg.Database.DriverName() != config.DriverPostgres || cfg.Database.DSN == "" {
		t.Errorf("database %s with a DSN %t, want postgres with one", cfg.Database.DriverName(), cfg.Database.DSN != "")
	}
	if cfg.Token.Key == "" || cfg.Token.Certificate == "" {
		t.Error("the replicas do not share a token-signing key: each would generate its own, and reject the others' tokens")
	}
	return cfg
}

// under reports whether file is inside dir.
func under(file, dir string) bool {
	return strings.HasPrefix(path.Clean(file), path.Clean(dir)+"/")
}

// TestDeployHAKubernetes decodes deploy/k8s strictly into the Kubernetes
// API types and checks that the pieces fit: the Service selects the
// Deployment's pods on a port they name, readiness is /readyz, every
// ConfigMap, Secret and claim a pod uses is there with the keys it reads,
// and the wharf.yml of the ConfigMap resolves for wharf with the
// environment the Deployment sets, its files where the volumes put them.
func TestDeployHAKubernetes(t *testing.T) {
	dir := filepath.Join(harness.RepoRoot(t), "deploy", "k8s")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	objs := k8sObjects{configMaps: map[string]corev1.ConfigMap{}, secrets: map[string]corev1.Secret{}, claims: map[string]corev1.PersistentVolumeClaim{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range yamlDocuments(b) {
			if err := decodeK8s(doc, &objs); err != nil {
				t.Errorf("%s, document %d: %v", filepath.Base(f), i+1, err)
			}
		}
	}
	if len(objs.deployments) != 1 || len(objs.services) != 1 {
		t.Fatalf("%d Deployments and %d Services, want one of each", len(objs.deployments), len(objs.services))
	}
	d, svc := objs.deployments[0], objs.services[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas %v, want at least 2", d.Spec.Replicas)
	}
	pod := d.Spec.Template
	for k, v := range d.Spec.Selector.MatchLabels {
		if pod.Labels[k] != v {
			t.Errorf("the Deployment's selector %s=%s does not match its pods' labels %v", k, v, pod.Labels)
		}
	}
	for k, v := range svc.Spec.Selector {
		if pod.Labels[k] != v {
			t.Errorf("the Service's selector %s=%s does not match the pods' labels %v", k, v, pod.Labels)
		}
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for _, p := range svc.Spec.Ports {
		if _, ok := ports[p.TargetPort.String()]; !ok {
			t.Errorf("the Service's targetPort %q is none of the container's ports %v", p.TargetPort.String(), ports)
		}
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" || ports[p.HTTPGet.Port.String()] == 0 {
		t.Errorf("readiness probe %+v, want GET /readyz on a named container port", p)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v, want GET /healthz", p)
	}

	// Every volume's source exists, and the mounts say where its files are.
	secretValue := func(name, key string) (string, bool) {
		s, ok := objs.secrets[name]
		if !ok {
			return "", false
		}
		v, ok := s.StringData[key]
		if !ok {
			b, ok2 := s.Data[key]
			return string(b), ok2
		}
		return v, true
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
		switch {
		case v.ConfigMap != nil:
			if _, ok := objs.configMaps[v.ConfigMap.Name]; !ok {
				t.Errorf("volume %s: no ConfigMap %s", v.Name, v.ConfigMap.Name)
			}
		case v.Secret != nil:
			if _, ok := objs.secrets[v.Secret.SecretName]; !ok {
				t.Errorf("volume %s: no Secret %s", v.Name, v.Secret.SecretName)
			}
		case v.PersistentVolumeClaim != nil:
			pvc, ok := objs.claims[v.PersistentVolumeClaim.ClaimName]
			if !ok || !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
				t.Errorf("volume %s: claim %s missing or not ReadWriteMany (every replica mounts it)", v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		}
	}
	var configBody, configMount string
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			t.Errorf("mount %s: no volume of that name", m.Name)
			continue
		}
		mounts[m.Name] = m
		if v.ConfigMap != nil && m.SubPath != "" {
			configBody, configMount = objs.configMaps[v.ConfigMap.Name].Data[m.SubPath], m.MountPath
		}
	}
	if configBody == "" {
		t.Fatal("no wharf.yml mounted from a ConfigMap")
	}
	if !slices.Contains(c.Args, configMount) {
		t.Errorf("the container's args %q do not name the mounted %s", c.Args, configMount)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := secretValue(ref.Name, ref.Key)
			if !ok {
				t.Errorf("env %s: no key %s in Secret %s", e.Name, ref.Key, ref.Name)
			}
			env[e.Name] = v
		default:
			env[e.Name] = e.Value
		}
	}
	cfg := resolveHA(t, configBody, env)
	if _, port, _ := net.SplitHostPort(cfg.Addr); port != fmt.Sprint(ports["http"]) {
		t.Errorf("wharf listens on %s, the container port is %d", cfg.Addr, ports["http"])
	}
	if m, ok := mounts["data"]; !ok || m.MountPath != cfg.Data {
		t.Errorf("data directory %s is not the mounted data volume %+v", cfg.Data, m)
	}
	// Blobs in a bucket every replica reaches, with the key from a Secret.
	if cfg.Storage.S3 == nil || cfg.Storage.S3.Bucket == "" {
		t.Error("the ConfigMap's wharf.yml has no storage.s3 bucket: each replica would keep blobs of its own")
	}
	if env["AWS_ACCESS_KEY_ID"] == "" || env["AWS_SECRET_ACCESS_KEY"] == "" {
		t.Error("the Deployment gives no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from a Secret")
	}
	for _, m := range c.VolumeMounts {
		if under(m.MountPath, cfg.Data) {
			t.Errorf("volume %s is mounted inside the data directory at %s: blobs are in S3", m.Name, m.MountPath)
		}
	}
	keys := mounts["keys"]
	for _, f := range []string{cfg.Token.Certificate, cfg.Token.Key} {
		if !under(f, keys.MountPath) {
			t.Errorf("%s is not in the keys volume at %s", f, keys.MountPath)
		} else if _, ok := secretValue(volumes["keys"].Secret.SecretName, path.Base(f)); !ok {
			t.Errorf("the keys Secret has no %s", path.Base(f))
		}
	}
}

// TestDeployHAStrictDecoding proves the decoder the test above relies on
// refuses a misspelled field.
func TestDeployHAStrictDecoding(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(t), "deploy", "k8s", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	typo := bytes.Replace(b, []byte("readinessProbe:"), []byte("readinesProbe:"), 1)
	if bytes.Equal(typo, b) {
		t.Fatal("deployment.yaml has no readinessProbe to misspell")
	}
	objs := k8sObjects{}
	if err := decodeK8s(typo, &objs); err == nil || !strings.Contains(err.Error(), "readinesProbe") {
		t.Errorf("a misspelled field decoded: %v", err)
	}
}

// composeFile is the part of the compose specification that
// deploy/compose-ha.yml uses; decoding refuses any other key, so a typo
// (or a key this test does not check) fails.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Restart     string            `yaml:"restart"`
	EnvFile     []string          `yaml:"env_file"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Deploy      struct {
		Replicas int `yaml:"replicas"`
	} `yaml:"deploy"`
	Healthcheck struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		StartPeriod string   `yaml:"start_period"`
		Retries     int      `yaml:"retries"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	SecurityOpt []string `yaml:"security_opt"`
	CapDrop     []string `yaml:"cap_drop"`
}

// TestDeployHACompose decodes deploy/compose-ha.yml strictly and checks
// that it starts exactly the reference deployment: PostgreSQL, an S3
// server, several wharf replicas ready on /readyz, nginx in front of them;
// and that the replicas' wharf.yml resolves with the environment of
// ha.env.example, its files where the volumes put them.
func TestDeployHACompose(t *testing.T) {
	deploy := filepath.Join(harness.RepoRoot(t), "deploy")
	b, err := os.ReadFile(filepath.Join(deploy, "compose-ha.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("compose-ha.yml: %v", err)
	}
	if got := slices.Sorted(maps.Keys(f.Services)); !slices.Equal(got, []string{"nginx", "postgres", "s3", "wharf"}) {
		t.Errorf("services %v, want nginx, postgres, s3 and wharf", got)
	}
	w := f.Services["wharf"]
	if w.Deploy.Replicas < 2 {
		t.Errorf("wharf replicas %d, want at least 2", w.Deploy.Replicas)
	}
	if !slices.ContainsFunc(w.Healthcheck.Test, func(s string) bool { return strings.HasSuffix(s, "/readyz") }) {
		t.Errorf("wharf's healthcheck %q does not ask /readyz", w.Healthcheck.Test)
	}
	if w.DependsOn["postgres"].Condition != "service_healthy" || f.Services["nginx"].DependsOn["wharf"].Condition != "service_healthy" {
		t.Error("wharf must wait for a healthy postgres, nginx for healthy replicas")
	}
	for name, s := range f.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(deploy, src)); err != nil && src != "./certs" {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			} else if _, ok := f.Volumes[src]; !ok {
				t.Errorf("service %s mounts volume %s, which is not declared", name, src)
			}
		}
	}

	// The replicas' configuration, with ha.env.example's environment.
	env := readEnvFile(t, filepath.Join(deploy, "ha.env.example"))
	maps.Copy(env, w.Environment)
	mounts := map[string]string{}
	for _, v := range w.Volumes {
		parts := strings.Split(v, ":")
		mounts[parts[1]] = parts[0]
	}
	configPath := w.Command[slices.Index(w.Command, "--config")+1]
	body, err := os.ReadFile(filepath.Join(deploy, mounts[configPath]))
	if err != nil {
		t.Fatalf("the replicas' %s: %v", configPath, err)
	}
	cfg := resolveHA(t, string(body), env)
	for _, file := range []string{cfg.Token.Certificate, cfg.Token.Key} {
		if !under(file, "/etc/wharf/certs") || mounts["/etc/wharf/certs"] != "./certs" {
			t.Errorf("%s is not in the mounted ./certs (wharf certs init's output)", file)
		}
	}
	// Blobs in the s3 service's bucket, with the key versitygw is given.
	if s3 := cfg.Storage.S3; s3 == nil {
		t.Error("the replicas' wharf.yml has no storage.s3: each replica would keep blobs of its own")
	} else {
		if u, err := url.Parse(s3.Endpoint()); err != nil || u.Hostname() != "s3" {
			t.Errorf("storage.s3.regionendpoint %q is not the s3 service", s3.Endpoint())
		}
		if ep := f.Services["s3"].Entrypoint; !slices.ContainsFunc(ep, func(s string) bool { return strings.Contains(s, "mkdir -p /data/"+s3.Bucket+" ") }) {
			t.Errorf("the s3 service's entrypoint %q does not create the bucket %s", ep, s3.Bucket)
		}
	}
	if env["AWS_ACCESS_KEY_ID"] != env["ROOT_ACCESS_KEY"] || env["AWS_SECRET_ACCESS_KEY"] != env["ROOT_SECRET_KEY"] || env["AWS_ACCESS_KEY_ID"] == "" {
		t.Error("ha.env.example does not give the replicas the S3 server's access key as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	if _, ok := mounts[path.Join(cfg.Data, "blobs")]; ok {
		t.Errorf("a volume is still mounted at %s/blobs: blobs are in S3", cfg.Data)
	}
	nginx, err := os.ReadFile(filepath.Join(deploy, "nginx-ha.conf"))
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(cfg.Addr)
	if !strings.Contains(string(nginx), "server wharf:"+port+";") {
		t.Errorf("nginx-ha.conf does not balance over wharf:%s", port)
	}
}

// readEnvFile reads a compose env file: KEY=value lines, # comments.
func readEnvFile(t *testing.T, p string) map[string]string {
	t.Helper()
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not KEY=value", p, line)
		}
		env[k] = v
	}
	return env
}
