// Package openapi holds the OpenAPI 3 document of the agent's HTTP API. It is
// written in YAML, so that each route's /api/v2 twin repeats it through a
// merge key instead of a copy, and served as JSON, what OpenAPI tools expect
// at /api/openapi.json.
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"go.yaml.in/yaml/v3"
)

// YAML is the document as written.
//
//go:embed openapi.yaml
var YAML []byte

// JSON returns the document as JSON, converted once. It fails only if the
// embedded YAML is broken, which the package's test rules out.
var JSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(YAML, &doc); err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi document as json: %w", err)
	}
	return b, nil
})
