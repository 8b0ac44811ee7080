//go:build tools

// Package tools pins kube-network-policies, the NetworkPolicy agent of the kind cluster.
package tools

import _ "sigs.k8s.io/kube-network-policies/cmd"
