// Package privacy holds the privacy policy (10.3 h, i): its text, served at
// /privacy, and its version, which every registration's consent records. It
// must never change the text without changing the version.
package privacy

import (
	_ "embed"
	"strings"
)

// Version is the version of the policy in policy.md.
const Version = "2026-11-01"

//go:embed policy.md
var policy string

// Text returns the policy as Markdown, with its version filled in.
func Text() string { return strings.ReplaceAll(policy, "{{VERSION}}", Version) }
