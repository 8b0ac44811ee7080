//go:build tools

// Package tools pins Tilt.
package tools

import _ "github.com/tilt-dev/tilt/cmd/tilt"
