// Package docs checks the repository's Markdown: every relative link names
// a file that exists and, when it has a #fragment into a Markdown file, a
// heading that GitHub would give that anchor. Docs are how platform
// engineers find their way; a moved file or a renamed heading must fail a
// test, not a reader.
package docs

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/learnerrecords/clr-operator/internal/repo"
)

var (
	// [text](target) and [text](target "title"); images too.
	linkRE = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	// Fenced code blocks hold shell and YAML, not links.
	fenceRE   = regexp.MustCompile("(?ms)^\\s*```.*?^\\s*```")
	headingRE = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)
	// Inline code spans may hold "](" too.
	codeSpanRE = regexp.MustCompile("`[^`\n]*`")
)

func TestRelativeLinks(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "*.md").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	files := strings.Fields(string(out))
	if len(files) < 5 {
		t.Fatalf("found %d Markdown files; expected the README and docs/", len(files))
	}
	checked := 0
	for _, f := range files {
		body := codeSpanRE.ReplaceAllString(readMarkdown(t, filepath.Join(root, f)), "")
		for _, m := range linkRE.FindAllStringSubmatch(body, -1) {
			target := m[1]
			if isExternal(target) {
				continue
			}
			checked++
			path, fragment, _ := strings.Cut(target, "#")
			dest := filepath.Join(root, f) // a bare #fragment points into this file
			if path != "" {
				dest = filepath.Join(filepath.Dir(filepath.Join(root, f)), path)
			}
			if _, err := os.Stat(dest); err != nil {
				t.Errorf("%s: link %q: %v", f, target, err)
				continue
			}
			if fragment == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			if !anchors(readMarkdown(t, dest))[fragment] {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", f, target, rel(root, dest), fragment)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative links found: the link pattern is broken")
	}
	t.Logf("checked %d relative links in %d Markdown files", checked, len(files))
}

func isExternal(target string) bool {
	for _, p := range []string{"http://", "https://", "mailto:"} {
		if strings.HasPrefix(target, p) {
			return true
		}
	}
	return false
}

// readMarkdown returns a file's text without its fenced code blocks.
func readMarkdown(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fenceRE.ReplaceAllString(string(b), "")
}

// anchors are the fragments GitHub derives from a file's headings:
// lowercase, punctuation dropped, spaces as hyphens, "-1", "-2"... for
// repeats.
func anchors(body string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, m := range headingRE.FindAllStringSubmatch(body, -1) {
		slug := slugify(m[1])
		if n := seen[slug]; n > 0 {
			out[slug+"-"+strconv.Itoa(n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

var headingLinkRE = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

func slugify(heading string) string {
	// Links in headings keep their text; code spans too (backticks are
	// punctuation and dropped below).
	heading = headingLinkRE.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func rel(root, path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil {
		return path
	}
	return r
}
