package transportstest

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Package is what go list says of a package.
type Package struct {
	ImportPath, Dir, Export string
	GoFiles, Imports        []string
}

// GoList lists the packages that match pattern ("fourway/bench/...") and
// every package they need, with their compiled export data (go list -deps
// -export), by import path. It skips the test when there is no go command.
func GoList(t testing.TB, pattern string) map[string]Package {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to list the packages")
	}
	out, err := exec.Command("go", "list", "-deps", "-export", "-json=ImportPath,Dir,Export,GoFiles,Imports", pattern).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pattern, err)
	}
	pkgs := map[string]Package{}
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p Package
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// A Use is a use, in one file of a package, of a package-level name (or a
// field or method) that another file of it declares.
type Use struct {
	At   token.Position // where the name is used
	Name string
	In   string // the file that declares it
}

// Layers parses the package at path of pkgs (from GoList) and returns the
// files its package doc lists, one a line ("\tname.go  what it holds"),
// in order; its files but doc.go, which holds that list; and every use
// across its files, sorted.
func Layers(t testing.TB, pkgs map[string]Package, path string) (order, files []string, uses []Use) {
	t.Helper()
	p := pkgs[path]
	fset := token.NewFileSet()
	var parsed []*ast.File
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
	}
	files = slices.DeleteFunc(slices.Clone(p.GoFiles), func(name string) bool { return name == "doc.go" })
	return docFiles(parsed), files, crossUses(t, p, fset, parsed, pkgs)
}

// docFiles are the files a package doc lists, in order.
func docFiles(files []*ast.File) []string {
	var out []string
	for _, f := range files {
		if f.Doc == nil {
			continue
		}
		for _, line := range strings.Split(f.Doc.Text(), "\n") {
			if fields := strings.Fields(line); len(fields) > 1 && strings.HasSuffix(fields[0], ".go") && strings.HasPrefix(line, "\t") {
				out = append(out, fields[0])
			}
		}
	}
	return out
}

// crossUses type-checks a package and returns each use, in one of its
// files, of a package-level name, field or method declared in another.
func crossUses(t testing.TB, p Package, fset *token.FileSet, files []*ast.File, pkgs map[string]Package) []Use {
	t.Helper()
	lookup := func(path string) (io.ReadCloser, error) { return os.Open(pkgs[path].Export) }
	conf := types.Config{Importer: importer.ForCompiler(fset, "gc", lookup)}
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
	pkg, err := conf.Check(p.ImportPath, fset, files, info)
	if err != nil {
		t.Fatalf("%s: %v", p.ImportPath, err)
	}
	var uses []Use
	for id, obj := range info.Uses {
		if obj.Pkg() != pkg || (obj.Parent() != pkg.Scope() && obj.Parent() != nil) {
			continue // another package's, or a local name
		}
		at, in := fset.Position(id.Pos()), filepath.Base(fset.Position(obj.Pos()).Filename)
		if filepath.Base(at.Filename) != in {
			uses = append(uses, Use{At: at, Name: obj.Name(), In: in})
		}
	}
	slices.SortFunc(uses, func(a, b Use) int { return strings.Compare(a.At.String(), b.At.String()) })
	return uses
}
