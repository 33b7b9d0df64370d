package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestOutageFlags(t *testing.T) {
	for _, c := range []struct {
		args    []string
		wantErr string
	}{
		{nil, ""},
		{[]string{"--outage-interval", "30s", "--unreachable-after", "5m"}, ""},
		{[]string{"--outage-interval", "0s"}, "--outage-interval"},
		{[]string{"--unreachable-after", "10s"}, "--unreachable-after"},
	} {
		var f outageFlags
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f.register(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		err := f.check()
		if (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.wantErr)
		}
		if c.args == nil && (f.interval != time.Minute || f.silence != 10*time.Minute) {
			t.Errorf("defaults %+v", f)
		}
	}
}
