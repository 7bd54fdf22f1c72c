// Package adminuser owns the built-in administrator of `wharf serve`: the
// `admin` account whose bcrypt hash is kept in the data directory
// (datadir.Dir.AdminHash: auth/admin.htpasswd).
//
// It is created on first start, with the password in WHARF_ADMIN_PASSWORD
// or a generated one that is written once to auth/admin.password
// (mode 0600) and never to the log. `wharf user passwd admin` changes it
// (SetPassword); a running server reads the file again when the database's
// identity generation moves, which that command bumps. The caller revokes
// the admin's sessions.
//
// It imports the standard library, atomicfile, datadir (where the files
// are), auth, auth/password (bcrypt), htpasswd (the file's format) and
// accounts (the password rules); never net/http or the metadata store.
package adminuser
