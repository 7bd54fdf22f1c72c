package authz

import (
	"errors"
	"fmt"

	"wharf/internal/yamlnode"
)

// ParseError is one problem in an ACL document, with its position.
type ParseError struct {
	File   string // empty when the document did not come from a file
	Line   int
	Column int
	Msg    string
}

func (e *ParseError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("authz: %s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.File != "":
		return fmt.Sprintf("authz: %s: %s", e.File, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("authz: line %d: %s", e.Line, e.Msg)
	}
	return "authz: " + e.Msg
}

// problems collects every error of an ACL document (yamlnode's collector)
// and renders them as ParseErrors naming the file.
type problems struct {
	file string
	yamlnode.Problems
}

func (p *problems) err() error {
	list := p.List()
	errs := make([]error, len(list))
	for i, pr := range list {
		errs[i] = &ParseError{File: p.file, Line: pr.Line, Column: pr.Column, Msg: pr.Msg}
	}
	return errors.Join(errs...)
}

// typeError renders the problems the way yaml.v3 reports its own, so that a
// larger config embedding rules collects every error of the whole document.
func (p *problems) typeError() error { return p.TypeError("") }
