package cli

import (
	"flag"
	"fmt"
	"io"
)

// Common are the settings every benchmark has, each with its flag.
type Common struct {
	// Quick is a smoke run, -quick: the benchmark's short defaults,
	// numbers not to quote.
	Quick bool
	// Repo is a directory inside the repository to build from, -repo.
	Repo string
	// Out is where the JSON report is written, -out, relative to the
	// repository unless absolute; "" writes none.
	Out string
}

// Settings are what the command line needs of a benchmark's settings.
type Settings interface {
	// Validate says what is wrong with the settings, if anything.
	Validate() error
}

// Command is the command line of a benchmark whose settings are O.
type Command[O Settings] struct {
	// Name is the command's name, e.g. "tollgate-bench": the usage line
	// and every error start with it.
	Name string
	// About says what the benchmark measures, for -help, between the
	// usage line and the flags.
	About string
	// QuickUsage says what -quick does, for -help.
	QuickUsage string
	// Defaults are the settings of a full run.
	Defaults func() O
	// Quick turns the settings of a full run into those of a smoke run.
	Quick func(*O)
	// Common is o's Common settings.
	Common func(o *O) *Common
	// Flags defines the benchmark's own flags on fs, each writing into o.
	Flags func(fs *flag.FlagSet, o *O)
}

// Parse reads the settings from args: every flag given, over the defaults
// of a full run or, with -quick, of a smoke run, so that a flag given wins
// over -quick. The settings come back validated.
func (c Command[O]) Parse(args []string, stderr io.Writer) (O, error) {
	o, err := c.parse(args, stderr, false)
	if err != nil {
		return o, err
	}
	if c.Common(&o).Quick {
		// The flags were read over a full run's defaults: read them again
		// over a smoke run's. They parsed once, so they parse again, and
		// quietly.
		if o, err = c.parse(args, io.Discard, true); err != nil {
			return o, err
		}
	}
	return o, o.Validate()
}

// parse reads args over the defaults, a smoke run's if quick.
func (c Command[O]) parse(args []string, stderr io.Writer, quick bool) (O, error) {
	o := c.Defaults()
	if quick {
		c.Quick(&o)
	}
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s [flags]\n\n%s\n\nFlags:\n", c.Name, c.About)
		fs.PrintDefaults()
	}
	common := c.Common(&o)
	fs.BoolVar(&common.Quick, "quick", false, c.QuickUsage)
	fs.StringVar(&common.Repo, "repo", common.Repo, "`directory` inside the tollgate repository to build from")
	fs.StringVar(&common.Out, "out", common.Out, "`file` to write the JSON report to (\"\": none)")
	c.Flags(fs, &o)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: every setting is a flag, see -help", fs.Arg(0))
	}
	return o, nil
}
