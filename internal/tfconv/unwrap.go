package tfconv

import "errors"

func UnwrapJS(js []byte) ([]byte, error) { return nil, errors.New("todo") }
