// Package pgtest gives tests a fresh, empty PostgreSQL database.
//
// If PARCELGUARD_TEST_POSTGRES holds a URL (postgres://user:pass@host:port/db)
// of a server where that user may create databases, each URL call creates a
// uniquely named database there and drops it when the test ends. Otherwise
// the test binary starts one throwaway cluster of its own: initdb into a
// temporary directory (as the postgres user when running as root, since
// PostgreSQL refuses to run as root), a server on a free loopback port with
// fsync on, stopped and deleted by Main when the tests are done.
//
// Packages using it call Main from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Without PostgreSQL's server binaries the tests fail, telling to run
// scripts/install-test-deps.sh.
package pgtest
