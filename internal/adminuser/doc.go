// Package adminuser owns the built-in administrator of `wharf serve`: the
// `admin` account, kept in the account database like any other so that
// `wharf user` and the admin API list and manage it.
//
// Bootstrap creates it on first start, with WHARF_ADMIN_PASSWORD (checked
// by the configuration before anything is created) or a generated password
// written once to auth/admin.password (mode 0600) and never to the log.
// Later starts do not apply the variable again, and say so when it
// differs. Migrate moves the bcrypt hash earlier releases kept in
// auth/admin.htpasswd (datadir.Dir.AdminHash) into the database once and
// renames the file admin.htpasswd.migrated; wharf serve and the account
// commands both call it. PasswordChanged removes the generated password's
// file once the password changed.
//
// It imports the standard library, atomicfile, datadir (where the files
// are), auth, auth/password (bcrypt), htpasswd (the old file's format) and
// accounts (the account operations); never net/http or the metadata store.
package adminuser
