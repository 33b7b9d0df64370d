package pgtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Cluster is a throwaway PostgreSQL server in a temporary directory,
// reachable as user postgres without a password on a loopback port.
type Cluster struct {
	dir   string   // temporary directory: data, socket and log
	bin   string   // directory of initdb, pg_ctl and postgres
	runAs []string // command prefix running a program as the server's owner
	port  int
	// up is set while the server runs (between Start and Stop).
	up bool
}

// errNoBinaries explains what to do when PostgreSQL is not installed.
var errNoBinaries = errors.New("pgtest: PostgreSQL server binaries (initdb, pg_ctl) not found in " +
	"/usr/lib/postgresql/*/bin or PATH: run scripts/install-test-deps.sh to install them, or set " +
	"PARCELGUARD_TEST_POSTGRES=postgres://USER:PASSWORD@HOST:PORT/postgres to use a running server")

// NewCluster initialises and starts a cluster. Stop it with Close.
func NewCluster() (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "parcelguard-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{dir: dir, bin: bin}
	if err := c.init(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// findBin returns the directory holding initdb and pg_ctl: the newest
// Debian-style /usr/lib/postgresql/N/bin, else the one initdb on PATH is in.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { // newest major version first
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	if p, err := exec.LookPath("initdb"); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", errNoBinaries
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// init runs initdb and writes the server's settings. As root it hands the
// directory to the postgres user and runs the server programs as that user.
func (c *Cluster) init() error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("pgtest: running as root, and PostgreSQL refuses to run as root, but there is no "+
				"postgres user to run it as (%v): run scripts/install-test-deps.sh, or run the tests as another user", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			return fmt.Errorf("pgtest: running as root needs runuser (util-linux) to start PostgreSQL as postgres: %w", err)
		}
		c.runAs = []string{runuser, "-u", "postgres", "--"}
	}
	// --no-sync only skips flushing the freshly made files: the running
	// server fsyncs every commit as usual.
	if err := c.run("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync"); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	conf := fmt.Sprintf(`
# pgtest: a throwaway server for tests.
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
fsync = on
synchronous_commit = on
shared_buffers = 128MB
max_connections = 300
`, port, c.dir)
	f, err := os.OpenFile(filepath.Join(c.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgtest: write postgresql.conf: %w", err)
	}
	return nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) log() string  { return filepath.Join(c.dir, "server.log") }

// run runs a PostgreSQL program from c.bin as the server's owner.
func (c *Cluster) run(name string, args ...string) error {
	argv := append(slices.Clone(c.runAs), filepath.Join(c.bin, name))
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: %s: %w\n%s", strings.Join(argv, " "), err, out)
	}
	return nil
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts the server (again, after Stop) and waits until it accepts
// connections.
func (c *Cluster) Start() error {
	if err := c.run("pg_ctl", "-D", c.data(), "-l", c.log(), "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("%w\nserver log:\n%s", err, c.logTail())
	}
	c.up = true
	return nil
}

// Stop stops the server, ending every session at once; the data stay, so
// Start brings the same databases back.
func (c *Cluster) Stop() error {
	if err := c.run("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "stop"); err != nil {
		return err
	}
	c.up = false
	return nil
}

// Close stops the server, if it runs, and deletes its directory.
func (c *Cluster) Close() error {
	var err error
	if c.up {
		err = c.Stop()
	}
	if rerr := os.RemoveAll(c.dir); err == nil {
		err = rerr
	}
	return err
}

// URL returns the URL of database db on the cluster.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// logTail returns the end of the server log, for error messages.
func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(c.log())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
