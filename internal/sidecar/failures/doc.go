// Package failures keeps the sidecar's failure records: one JSON record
// of every request that finally failed (after its retries and fallbacks)
// and of every request a fallback rung answered, made from the request's
// llmclient.Report and its Trace (which hold no credential).
//
// Records go to a bounded ring: files in a directory (the pod's emptyDir),
// at most MaxCount of them taking at most MaxBytes (each file counted in
// 4 KiB blocks, as the disk stores it), the oldest deleted first. The
// files are read back when the sidecar starts, so the records survive a
// restart of its container. The admin server serves them, newest first,
// at /failures.
//
// Nothing here is on the way of an answer: Add hands the report to the
// writer goroutine without waiting, and drops it (counted) when the writer
// is behind. A record the disk does not take (full, read-only, gone) is
// kept in memory only, up to 1 MiB of them, and counted; such errors are
// logged once a minute at most.
package failures
