//go:build tools

// Package tools pins Tempo's monolithic binary.
package tools

import _ "github.com/grafana/tempo/cmd/tempo"
