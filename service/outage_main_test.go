package service_test

import (
	"testing"

	"github.com/parcelguard/parcelguard/internal/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster the outage tests start.
func TestMain(m *testing.M) { pgtest.Main(m) }
