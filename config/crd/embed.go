// Package crd embeds the CustomResourceDefinitions controller-gen writes to
// bases/, so that Go code (pkg/vantagetest) installs the very CRDs this
// kustomization applies, without a path into the module.
package crd

import "embed"

// Bases holds bases/*.yaml, one CustomResourceDefinition each.
//
//go:embed bases/*.yaml
var Bases embed.FS
