package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// file is one regular file of a layer: its path inside the image (no
// leading slash), where its bytes come from on the build machine, and its
// mode. Every file and directory belongs to root (0:0): the non-root user
// can read and run them but not change them.
type file struct {
	Path   string
	Source string
	Mode   int64
}

// layerFromFiles builds a gzip-compressed OCI layer holding files and the
// directories above them. The bytes depend only on the files' contents,
// paths and modes and on mtime (entries sorted, fixed owner and time, no
// gzip header name or time), so the same inputs give the same digest.
func layerFromFiles(files []file, mtime time.Time) (v1.Layer, error) {
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	dirs := map[string]bool{}
	header := func(name string, typ byte, mode, size int64) *tar.Header {
		return &tar.Header{Typeflag: typ, Name: name, Mode: mode, Size: size, ModTime: mtime,
			Uid: 0, Gid: 0, Format: tar.FormatPAX}
	}
	for _, f := range files {
		if strings.HasPrefix(f.Path, "/") || path.Clean(f.Path) != f.Path {
			return nil, fmt.Errorf("layer path %q is not clean and relative", f.Path)
		}
		// Parent directories first, each once, 0755.
		var parents []string
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(header(d+"/", tar.TypeDir, 0o755, 0)); err != nil {
				return nil, err
			}
		}
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return nil, fmt.Errorf("layer file %s: %w", f.Path, err)
		}
		if err := tw.WriteHeader(header(f.Path, tar.TypeReg, f.Mode, int64(len(data)))); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}

	var gzBuf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gzBuf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	compressed := gzBuf.Bytes()
	return &gzipLayer{
		compressed: compressed,
		digest:     v1.Hash{Algorithm: "sha256", Hex: sha256Hex(compressed)},
		diffID:     v1.Hash{Algorithm: "sha256", Hex: sha256Hex(tarBuf.Bytes())},
	}, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// gzipLayer is a layer held in memory as gzip bytes. (tarball's layers
// describe themselves with an empty annotations map, which
// validate.Index rejects as differing from the manifest's absent one.)
type gzipLayer struct {
	compressed     []byte
	digest, diffID v1.Hash
}

func (l *gzipLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *gzipLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *gzipLayer) Size() (int64, error)     { return int64(len(l.compressed)), nil }
func (l *gzipLayer) MediaType() (types.MediaType, error) {
	return types.OCILayer, nil
}
func (l *gzipLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.compressed)), nil
}
func (l *gzipLayer) Uncompressed() (io.ReadCloser, error) {
	return gzip.NewReader(bytes.NewReader(l.compressed))
}
