package memstore_test

import (
	"testing"

	"github.com/imagerec/imagerec/internal/objstore"
	"github.com/imagerec/imagerec/internal/objstore/memstore"
	"github.com/imagerec/imagerec/internal/objstore/objstoretest"
)

func TestConformance(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Store { return memstore.New() })
}
