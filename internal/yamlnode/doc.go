// Package yamlnode holds the helpers every strict reader of user YAML
// shares (the ACL rules, the configured users, the readers of
// distribution's and docker_auth's configurations): following aliases
// without looping on a cycle, telling absent and null apart from values,
// naming a node's kind in messages, YAML 1.1 booleans as distribution and
// docker_auth read them, and collecting every problem of a document with its
// line so that one run reports them all.
//
// It imports the standard library, yaml.v3 and keyhint only.
package yamlnode
