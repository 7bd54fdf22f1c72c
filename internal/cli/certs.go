package cli

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"wharf/internal/auth/token"
	"wharf/internal/certs"
)

func newCerts() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Make and inspect the CA, server and token-signing certificates",
		Long: `Make a private CA, the HTTPS server certificate it signs and the token-signing
key and certificate, in place of the openssl recipe; or show what a
certificate or key file holds.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newCertsInit(), newCertsShow())
	return cmd
}

func newCertsInit() *cobra.Command {
	var (
		dir, keyType   string
		registryName   string
		names, ips     []string
		days           int
		noCAKey, force bool
	)
	cmd := &cobra.Command{
		Use:   "init --dir DIR --name HOST [--name HOST…] [--ip ADDR…]",
		Short: "Make a CA, a server certificate and a token-signing certificate",
		Long: `Write into DIR (created with mode 0700):

  ca.crt, ca.key           the private CA (ca.key omitted with --no-ca-key)
  server.crt, server.key   the HTTPS certificate for every --name and --ip
  token.crt, token.key     the key that signs tokens and its certificate

The CA carries critical X.509 name constraints: it may sign only for the
--name and --ip values (and subdomains of the names), so that its key cannot
make certificates for other hosts that its clients would accept. To serve a
new name later, run init again with --force and give clients the new ca.crt.

Keys are written with mode 0600, certificates 0644. Existing files are never
replaced without --force. Keys are ECDSA P-256 unless --key-type rsa.
The server certificate is valid 397 days (the longest browsers accept),
the CA 10 years, the token certificate 5 years.`,
		Example: `  wharf certs init --dir /etc/wharf/certs --name registry.example.com --ip 10.0.0.3`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("certs init: --dir is required: the directory to write the files to, e.g. --dir /etc/wharf/certs")
			}
			if len(names)+len(ips) == 0 {
				return errors.New("certs init: give the host name clients use with --name (e.g. --name registry.example.com) and/or its address with --ip")
			}
			for _, ip := range ips {
				if _, err := netip.ParseAddr(ip); err != nil {
					return fmt.Errorf("certs init: --ip %q is not an IP address; put host names in --name", ip)
				}
			}
			hosts, err := registryHosts(registryName, names, ips)
			if err != nil {
				return err
			}
			kind, err := certKeyKind(keyType)
			if err != nil {
				return err
			}
			opts := certs.InitOptions{
				Dir:     dir,
				Names:   append(append([]string{}, names...), ips...),
				KeyKind: kind,
				NoCAKey: noCAKey,
				Force:   force,
			}
			if cmd.Flags().Changed("days") {
				if days <= 0 {
					return fmt.Errorf("certs init: --days must be a positive number of days, got %d", days)
				}
				opts.ServerValidity = time.Duration(days) * 24 * time.Hour
			}
			files, err := certs.Init(opts)
			if err != nil {
				return fmt.Errorf("certs init: %w", err)
			}
			printNextSteps(cmd.OutOrStdout(), files, opts.Names, hosts)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dir, "dir", "", "directory to write the certificates and keys to (required)")
	fl.StringArrayVar(&names, "name", nil, "DNS name of the server (repeatable; the first is the common name)")
	fl.StringArrayVar(&ips, "ip", nil, "IP address of the server (repeatable)")
	fl.StringVar(&registryName, "registry-name", "", "which --name or --ip clients put in image names (HOST in HOST:PORT/repo), for the next steps; needed only with several")
	fl.IntVar(&days, "days", 397, "validity of the server certificate in days (browsers refuse more than 398)")
	fl.StringVar(&keyType, "key-type", "ecdsa", "key type: ecdsa (P-256) or rsa (2048 bits), or one of "+allKeyKinds())
	fl.BoolVar(&noCAKey, "no-ca-key", false, "do not keep the CA key: nothing more can be signed (renewal needs a new CA)")
	fl.BoolVar(&force, "force", false, "replace existing files in --dir")
	return cmd
}

// certKeyKind maps --key-type to a key kind: the short names, or any kind
// token.GenerateKey knows.
func certKeyKind(s string) (token.KeyKind, error) {
	switch s {
	case "", "ecdsa":
		return token.KeyECDSAP256, nil
	case "rsa":
		return token.KeyRSA2048, nil
	}
	for _, k := range keyKinds() {
		if token.KeyKind(s) == k {
			return k, nil
		}
	}
	return "", fmt.Errorf("certs init: unknown --key-type %q; use ecdsa, rsa or one of %s", s, allKeyKinds())
}

func keyKinds() []token.KeyKind {
	return []token.KeyKind{token.KeyECDSAP256, token.KeyECDSAP384, token.KeyECDSAP521,
		token.KeyRSA2048, token.KeyRSA3072, token.KeyRSA4096, token.KeyEd25519}
}

func allKeyKinds() string {
	var s string
	for i, k := range keyKinds() {
		if i > 0 {
			s += ", "
		}
		s += string(k)
	}
	return s
}

// registryHosts are the hosts the next steps tell Docker clients to trust
// the CA for: /etc/docker/certs.d/ is keyed by the registry's host as image
// names spell it, and a certificate for an auth server and a registry
// names both. With --registry-name that one; with a single name, it;
// otherwise every name, since guessing the first would send users to the
// wrong directory (certs.d/auth-server:5000).
func registryHosts(registryName string, names, ips []string) ([]string, error) {
	all := append(append([]string{}, names...), ips...)
	if registryName != "" {
		if !slices.Contains(all, registryName) {
			return nil, fmt.Errorf("certs init: --registry-name %q is not one of the certificate's names (%s); add it with --name or --ip",
				registryName, strings.Join(all, ", "))
		}
		return []string{registryName}, nil
	}
	return all, nil
}

func printNextSteps(w io.Writer, f certs.Files, names, hosts []string) {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	fmt.Fprintf(w, "Wrote in %s:\n", abs(f.Dir))
	for _, p := range f.Paths() {
		fmt.Fprintf(w, "  %s\n", filepath.Base(p))
	}
	caCert := abs(f.CACert)
	fmt.Fprintf(w, "\nNext steps:\n\n")
	printTrustSteps(w, caCert, hosts)
	fmt.Fprintf(w, `  (The CA may sign only for %[1]s.)

  In wharf.yml:
    tls: files
    tls_files:
      certificate: %[2]s
      key: %[3]s
    token:
      certificate: %[4]s
      key: %[5]s

  For a distribution registry verifying wharf's tokens (config.yml):
    auth:
      token:
        rootcertbundle: %[4]s

  nginx in front: ssl_certificate %[2]s; ssl_certificate_key %[3]s;
  (server.crt holds the leaf only; clients trust ca.crt itself.)
`, strings.Join(names, ", "), abs(f.ServerCert), abs(f.ServerKey), abs(f.TokenCert), abs(f.TokenKey))
	if f.CAKey == "" {
		fmt.Fprintln(w, "\nThe CA key was not kept: to renew, run init again with --force and redistribute ca.crt.")
	} else {
		fmt.Fprintf(w, "\nKeep %s offline or readable by root only: it can sign certificates clients trust.\n", abs(f.CAKey))
	}
}

// printTrustSteps tells Docker clients to trust caCert for the registry's
// host only. With several candidate hosts it gives the commands for each
// and says to keep the one in image names (the token server's host needs
// none: Docker trusts certs.d/ for the registry only, and the realm is
// reached with the same trust store as the registry).
func printTrustSteps(w io.Writer, caCert string, hosts []string) {
	if len(hosts) == 1 {
		fmt.Fprintf(w, "  Trust the CA for this registry only, on every Docker client (HOST:PORT as\n"+
			"  in the image names), rather than in the system store:\n")
	} else {
		fmt.Fprintf(w, "  Trust the CA for the registry only, on every Docker client, in the directory\n"+
			"  of the host clients put in image names (HOST:PORT/repo); this certificate\n"+
			"  has several names, so run the lines of that host only (or give\n"+
			"  --registry-name to print just those):\n")
	}
	for _, h := range hosts {
		d := h + ":5000"
		if len(hosts) > 1 {
			fmt.Fprintf(w, "    # if images are named %s/…\n", d)
		}
		fmt.Fprintf(w, "    mkdir -p /etc/docker/certs.d/%[1]s\n    cp %[2]s /etc/docker/certs.d/%[1]s/ca.crt\n", d, caCert)
	}
	for _, h := range hosts {
		fmt.Fprintf(w, "  podman, skopeo, buildah: /etc/containers/certs.d/%s:5000/ca.crt\n", h)
	}
	fmt.Fprintf(w, "  curl: --cacert %s\n", caCert)
}

func newCertsShow() *cobra.Command {
	return &cobra.Command{
		Use:   "show FILE…",
		Short: "Describe certificates and keys (subject, names, validity, key type, fingerprint)",
		Long: `Describe every PEM block in the files: certificates (each of a chain),
private keys and public keys. Key material is never printed.`,
		Example: `  wharf certs show /etc/wharf/certs/server.crt /etc/wharf/certs/ca.crt`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			out := cmd.OutOrStdout()
			var errs []error
			for n, file := range files {
				data, err := os.ReadFile(file)
				if err != nil {
					errs = append(errs, fmt.Errorf("certs show: %w", err))
					continue
				}
				infos, err := certs.Describe(data)
				if err != nil {
					errs = append(errs, fmt.Errorf("certs show: %s: %w", file, err))
					continue
				}
				if n > 0 {
					fmt.Fprintln(out)
				}
				fmt.Fprintf(out, "%s:\n", file)
				for _, info := range infos {
					fmt.Fprint(out, info.String())
				}
			}
			return errors.Join(errs...)
		},
	}
}
