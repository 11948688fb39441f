// Package images builds the container images of tollgate-operator and
// tollgate-sidecar without a container engine: `make images` runs it
// through hack/images.
//
// [Compile] builds each program as a static Linux binary (CGO_ENABLED=0,
// -trimpath, -ldflags "-s -w"). [Write] puts each binary on an empty base
// (scratch), with the public CA roots for a program that calls HTTPS
// endpoints outside the cluster, and writes the image as a docker-archive
// tarball tagged <registry>/<name>:<tag>. [Build] does both.
//
// An image holds its binary and, for the sidecar, a CA bundle, and nothing
// else: no shell, no /etc/passwd, no writable directory. It runs as the
// numeric user 65532:65532, so a pod's runAsNonRoot can check it without
// a passwd file, and every file in it is root's and not writable by that
// user; the chart and the injector also mount the root filesystem
// read-only. What a program writes goes to a volume (the sidecar's state
// emptyDir).
//
// Two builds of the same sources with the same Go and the same created
// time give byte-identical archives: file times and the image's created
// time are that time (SOURCE_DATE_EPOCH in `make images`, see
// [SourceDateEpoch]), and the binaries carry no build paths or VCS stamp.
//
// Why a docker-archive: it is the one archive format that the three ways
// of using an image here all read. `kind load image-archive` streams the
// file to `ctr images import` on each node, and ctr imports docker
// archives and OCI layout tarballs alike; `crane push` reads a file as a
// docker-archive and only a directory as an OCI layout. A docker-archive
// holds one image per tag, so an archive holds one platform (see
// [Options.Platform]).
package images
