package chdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"unsafe"

	"github.com/ebitengine/purego"
)

// LibVersion is the libchdb build trunkscope is tested with; the setup script
// fetches exactly this one.
const LibVersion = "26.7.3-stable.1"

// ErrLibMissing is returned when libchdb.so cannot be found or loaded.
var ErrLibMissing = errors.New("libchdb.so not found")

// InstallHint is the one line a user needs when the library is missing.
const InstallHint = "run ./scripts/setup (or set CHDB_LIB_PATH to a libchdb.so from npm package @chdb/lib-linux-x64-gnu@" + LibVersion + ")"

// LibSearchPath lists where the library is looked for, in order: the
// CHDB_LIB_PATH variable, beside the executable, the per-user cache that
// scripts/setup fills, and the system location chDB's own installer uses.
//
// An explicit CHDB_LIB_PATH is the only place looked at: a user who names a
// library must not silently get another one.
func LibSearchPath() []string {
	if p := os.Getenv("CHDB_LIB_PATH"); p != "" {
		return []string{p}
	}
	var paths []string
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		paths = append(paths, filepath.Join(dir, "libchdb.so"), filepath.Join(dir, "..", "lib", "libchdb.so"))
	}
	if dir, err := os.UserCacheDir(); err == nil {
		paths = append(paths, filepath.Join(dir, "trunkscope", "chdb", LibVersion, "libchdb.so"))
	}
	return append(paths, "/usr/local/lib/libchdb.so")
}

// lib holds the C entry points. chDB is one engine per process (DESIGN.md,
// "Embedded engines"), so the library is loaded once; the handle is never
// unloaded because the engine cannot be restarted cleanly after dlclose.
type lib struct {
	connect       func(argc int, argv []*byte) *connection
	closeConn     func(conn *connection)
	query         func(conn uintptr, query string, format string) uintptr
	destroyResult func(res uintptr)
	insertBegin   func(conn uintptr, query string, format string) uintptr
	insertAppend  func(stream uintptr, data *byte, n uintptr) int32
	insertDone    func(stream uintptr) uintptr
	insertError   func(stream uintptr) *byte
	insertDestroy func(stream uintptr)
	resultBuffer  func(res uintptr) *byte
	resultLength  func(res uintptr) uintptr
	resultError   func(res uintptr) *byte
	rowsRead      func(res uintptr) uint64
	setSignals    func(enabled int32)
}

var loadOnce struct {
	sync.Once
	lib  *lib
	path string
	err  error
}

// load finds and dlopens libchdb.so once per process. A process-wide value is
// unavoidable here: the dynamic loader itself is process-wide.
func load() (*lib, error) {
	loadOnce.Do(func() {
		var tried []string
		for _, p := range LibSearchPath() {
			if _, err := os.Stat(p); err != nil {
				tried = append(tried, p)
				continue
			}
			h, err := purego.Dlopen(p, purego.RTLD_NOW|purego.RTLD_GLOBAL)
			if err != nil {
				loadOnce.err = fmt.Errorf("%w: loading %s: %v; %s", ErrLibMissing, p, err, InstallHint)
				return
			}
			l := &lib{}
			purego.RegisterLibFunc(&l.connect, h, "chdb_connect")
			purego.RegisterLibFunc(&l.closeConn, h, "chdb_close_conn")
			purego.RegisterLibFunc(&l.query, h, "chdb_query")
			purego.RegisterLibFunc(&l.insertBegin, h, "chdb_stream_insert")
			purego.RegisterLibFunc(&l.insertAppend, h, "chdb_stream_append")
			purego.RegisterLibFunc(&l.insertDone, h, "chdb_stream_done")
			purego.RegisterLibFunc(&l.insertError, h, "chdb_stream_insert_error")
			purego.RegisterLibFunc(&l.insertDestroy, h, "chdb_destroy_insert_stream")
			purego.RegisterLibFunc(&l.destroyResult, h, "chdb_destroy_query_result")
			purego.RegisterLibFunc(&l.resultBuffer, h, "chdb_result_buffer")
			purego.RegisterLibFunc(&l.resultLength, h, "chdb_result_length")
			purego.RegisterLibFunc(&l.resultError, h, "chdb_result_error")
			purego.RegisterLibFunc(&l.rowsRead, h, "chdb_result_rows_read")
			purego.RegisterLibFunc(&l.setSignals, h, "chdb_set_signal_handlers_enabled")
			loadOnce.lib, loadOnce.path = l, p
			return
		}
		loadOnce.err = fmt.Errorf("%w (looked in %v): %s", ErrLibMissing, tried, InstallHint)
	})
	return loadOnce.lib, loadOnce.err
}

// LibPath returns the path of the loaded library, or an error saying how to
// install it.
func LibPath() (string, error) {
	if _, err := load(); err != nil {
		return "", err
	}
	return loadOnce.path, nil
}

// connection mirrors chdb_connection: a struct whose one field is the
// handle the query functions take.
type connection struct {
	internal uintptr
}

// crashSignals are the signals chDB installs sleeping crash handlers for.
var crashSignals = [...]syscall.Signal{
	syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGABRT, syscall.SIGILL,
	syscall.SIGFPE, syscall.SIGSYS, syscall.SIGTRAP, syscall.SIGTSTP,
}

// kernelSigaction is struct sigaction as the rt_sigaction system call takes
// it on linux/amd64 and arm64 (handler, flags, restorer, mask).
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// disableCrashHandlers stops chDB from installing its crash handlers, which
// sleep for minutes on SIGSEGV and so turn an ordinary Go nil-pointer panic
// into a hung process. chdb_set_signal_handlers_enabled(0) resets those
// signals to SIG_DFL, which would also remove the Go runtime's handlers, so
// Go's sigactions are saved before the call and put back after it.
func (l *lib) disableCrashHandlers() error {
	var saved [len(crashSignals)]kernelSigaction
	for i, sig := range crashSignals {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0,
			uintptr(unsafe.Pointer(&saved[i])), 8, 0, 0); e != 0 {
			return fmt.Errorf("chdb: saving handler of %v: %w", sig, e)
		}
	}
	l.setSignals(0)
	for i, sig := range crashSignals {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig),
			uintptr(unsafe.Pointer(&saved[i])), 0, 8, 0, 0); e != 0 {
			return fmt.Errorf("chdb: restoring handler of %v: %w", sig, e)
		}
	}
	return nil
}

func cString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
