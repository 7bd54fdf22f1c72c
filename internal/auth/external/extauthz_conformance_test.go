package external_test

import (
	"testing"
	"time"

	"wharf/internal/auth/authz"
	"wharf/internal/auth/authz/authztest"
)

// policyScript is authztest.Policy as an ext_authz program: it reads the
// request, works out what the first matching rule allows, and exits 0 when
// every requested action is allowed, 1 otherwise (and when no rule
// matches: the program decides everything).
const policyScript = `
in=$(cat)
field() { printf '%s' "$in" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
acct=$(field Account)
name=$(field Name)
acts=$(printf '%s' "$in" | sed -n 's/.*"Actions":\[\([^]]*\)\].*/\1/p' | tr -d '"' | tr ',' ' ')
ops=no
case "$in" in *'"group":['*'"ops"'*) ops=yes;; esac
allowed=none
case "$acct" in
admin) allowed='*';;
alice) case "$name" in team/*/*) ;; team/*) allowed='pull push';; esac;;
bob) [ "$name" = team/app ] && allowed=pull;;
mallory) allowed='';;
esac
if [ "$allowed" = none ] && [ -n "$acct" ] && [ $ops = yes ]; then
  case "$name" in ops/*/*) ;; ops/*) allowed='*';; esac
fi
if [ "$allowed" = none ] && [ -z "$acct" ]; then
  case "$name" in public/*/*) ;; public/*) allowed=pull;; esac
fi
[ "$allowed" = '*' ] && exit 0
[ "$allowed" = none ] && exit 1
for a in $acts; do
  case " $allowed " in *" $a "*) ;; *) exit 1;; esac
done
exit 0
`

// ext_authz keeps the authorizers' contract, as a program answering
// all-or-nothing.
func TestExtAuthzConformance(t *testing.T) {
	authztest.Run(t, authztest.Contract{AllOrNothing: true}, func(t *testing.T) authz.Authorizer {
		return newAuthz(t, policyScript, 10*time.Second)
	})
}
