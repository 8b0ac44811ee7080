//go:build tools

// Package tools pins local-path-provisioner, the default StorageClass of the kind cluster.
package tools

import _ "github.com/rancher/local-path-provisioner"
