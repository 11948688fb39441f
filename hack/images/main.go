// Command images is `make images`: it builds tollgate-operator and
// tollgate-sidecar for one Linux platform and writes each image as an
// archive that kind, ctr and crane read, with no container engine (see
// internal/images). SOURCE_DATE_EPOCH sets the images' created time.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"tollgate.dev/tollgate/internal/images"
)

func main() {
	registry := flag.String("registry", "", "`prefix` of the image names, e.g. ghcr.io/tollgate-dev")
	tag := flag.String("tag", "", "`tag` of the images, e.g. the chart's appVersion")
	platform := flag.String("platform", "linux/"+runtime.GOARCH, "`os/arch` to build for")
	out := flag.String("out", "bin/images", "`directory` for the archives")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *registry, *tag, *platform, *out); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, registry, tag, platform, out string) error {
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return err
	}
	created, err := images.SourceDateEpoch(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	archives, err := images.Build(ctx, images.Options{Root: ".", Registry: registry, Tag: tag, Platform: *p, Created: created, OutDir: out})
	if err != nil {
		return err
	}
	for _, a := range archives {
		fmt.Printf("%s\t%s\t%s\t%.1f MiB\n", a.Path, a.Ref, a.Digest, float64(a.Size)/(1<<20))
	}
	return nil
}
