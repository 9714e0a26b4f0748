package tfconv

import (
	"encoding/json"
	"fmt"
)

func convertLayers(cfg json.RawMessage, weights map[string]*tensor) ([]byte, error) {
	return nil, fmt.Errorf("layers model: %w", ErrUnsupported)
}
