package transports_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fourway/transports/transportstest"
)

// transportsPackages are the packages of transports and those of them
// each may import: the lessons over the machinery (fanout, direct) over
// the meter, which imports none of them. The compiler keeps the arrows
// one way (a cycle does not build); this keeps them pointing down.
var transportsPackages = map[string][]string{
	"fourway/transports":                {"direct", "fanout", "wiremeter"},
	"fourway/transports/direct":         {"fanout", "wiremeter"},
	"fourway/transports/fanout":         {"wiremeter"},
	"fourway/transports/wiremeter":      nil,
	"fourway/transports/links":          nil,
	"fourway/transports/wire":           nil,
	"fourway/transports/transportstest": {"wire"}, // and transports itself, which it starts
}

// maxUsesUp bounds the uses, among the files of transports and its
// packages, that run back up: a file that uses a name declared by a file
// listed above it in its package doc (which lists the files from the top
// down, each above what it uses). Counted once per pair of files.
const maxUsesUp = 10 // 7 when it was written; the issue asked for at most 20

// TestPackagesImportOneWay: each of transports' packages imports only
// those of them below it, and every one of them is known.
func TestPackagesImportOneWay(t *testing.T) {
	for path, p := range transportstest.GoList(t, "fourway/transports/...") {
		if path != "fourway/transports" && !strings.HasPrefix(path, "fourway/transports/") {
			continue
		}
		allowed, known := transportsPackages[path]
		if !known {
			t.Errorf("%s is not among transports' packages (transportsPackages)", path)
		}
		for _, imp := range p.Imports {
			name, ok := strings.CutPrefix(imp, "fourway/transports/")
			if imp == "fourway/transports" && path == "fourway/transports/transportstest" {
				continue
			}
			if (ok || imp == "fourway/transports") && !slices.Contains(allowed, name) {
				t.Errorf("%s imports %s: it may import only %v", path, imp, allowed)
			}
		}
	}
}

// TestFilesAreLayers: the package doc of each package lists its files
// (but doc.go, which holds it), one a line, from the top down; and few
// uses run back up, from a file to one listed above it (maxUsesUp in
// all, counted once per pair of files): the files of a package form
// layers, not a web.
func TestFilesAreLayers(t *testing.T) {
	pkgs := transportstest.GoList(t, "fourway/transports/...")
	up := 0
	for path := range transportsPackages {
		order, files, uses := transportstest.Layers(t, pkgs, path)
		if got, want := slices.Sorted(slices.Values(order)), slices.Sorted(slices.Values(files)); !slices.Equal(got, want) {
			t.Errorf("%s: its package doc lists %v, want its files %v", path, got, want)
			continue
		}
		seen := map[[2]string]bool{}
		for _, u := range uses {
			pair := [2]string{filepath.Base(u.At.Filename), u.In}
			if slices.Index(order, pair[1]) < slices.Index(order, pair[0]) && !seen[pair] {
				seen[pair] = true
				t.Logf("%s: %s uses %s, listed above it", path, pair[0], pair[1])
			}
		}
		up += len(seen)
	}
	t.Logf("%d uses run back up among the files of transports' packages", up)
	if up > maxUsesUp {
		t.Errorf("%d uses run back up among the files of transports' packages, want at most %d: a file that needs a file above it sits in the wrong place", up, maxUsesUp)
	}
}
