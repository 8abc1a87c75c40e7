package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A reader of OCI image layouts on the standard library alone: the test
// checks what imagebuild (go-containerregistry) wrote without trusting the
// library that wrote it, and the operator's module gains no dependency.

const (
	mtOCIIndex    = "application/vnd.oci.image.index.v1+json"
	mtOCIManifest = "application/vnd.oci.image.manifest.v1+json"
	mtOCIConfig   = "application/vnd.oci.image.config.v1+json"
	mtOCILayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

type imageConfig struct {
	Architecture string    `json:"architecture"`
	OS           string    `json:"os"`
	Created      time.Time `json:"created"`
	Config       struct {
		User         string              `json:"User"`
		Env          []string            `json:"Env"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		WorkingDir   string              `json:"WorkingDir"`
		Labels       map[string]string   `json:"Labels"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []struct {
		Created   time.Time `json:"created"`
		CreatedBy string    `json:"created_by"`
	} `json:"history"`
}

// entry is one tar entry of a layer.
type entry struct {
	Name    string
	Type    byte
	Mode    int64
	UID     int
	GID     int
	ModTime time.Time
	Data    []byte
}

// ociImage is one platform's image read from a layout, every blob checked
// against its digest and size.
type ociImage struct {
	Digest       string
	Manifest     manifest
	ConfigDigest string
	Config       imageConfig
	// Layers are the tar entries of each layer, in order.
	Layers [][]entry
	// CompressedLayers are the layers' blobs, in order.
	CompressedLayers [][]byte
}

// readBlob reads a blob of the layout at dir and checks its digest and size.
func readBlob(t *testing.T, dir string, d descriptor) []byte {
	t.Helper()
	hexDigest, ok := strings.CutPrefix(d.Digest, "sha256:")
	if !ok || len(hexDigest) != 64 {
		t.Fatalf("descriptor digest %q is not sha256", d.Digest)
	}
	data, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", hexDigest))
	if err != nil {
		t.Fatalf("blob %s: %v", d.Digest, err)
	}
	if got := sha256Hex(data); got != hexDigest {
		t.Fatalf("blob %s has digest sha256:%s", d.Digest, got)
	}
	if int64(len(data)) != d.Size {
		t.Fatalf("blob %s: %d bytes, descriptor says %d", d.Digest, len(data), d.Size)
	}
	return data
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func decodeJSON(t *testing.T, what string, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, data)
	}
}

// readLayout reads the layout's single entry: a multi-platform index.
func readLayout(t *testing.T, dir string) (descriptor, index) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "oci-layout"))
	if err != nil {
		t.Fatalf("oci-layout: %v", err)
	}
	var marker struct {
		Version string `json:"imageLayoutVersion"`
	}
	decodeJSON(t, "oci-layout", data, &marker)
	if marker.Version != "1.0.0" {
		t.Fatalf("oci-layout: imageLayoutVersion %q", marker.Version)
	}
	data, err = os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatalf("index.json: %v", err)
	}
	var top index
	decodeJSON(t, "index.json", data, &top)
	if top.SchemaVersion != 2 || len(top.Manifests) != 1 {
		t.Fatalf("index.json: schemaVersion %d with %d entries, want 2 and one index", top.SchemaVersion, len(top.Manifests))
	}
	d := top.Manifests[0]
	if d.MediaType != mtOCIIndex {
		t.Fatalf("index.json entry has media type %q, want %q", d.MediaType, mtOCIIndex)
	}
	var idx index
	decodeJSON(t, "image index", readBlob(t, dir, d), &idx)
	if idx.SchemaVersion != 2 || idx.MediaType != mtOCIIndex {
		t.Fatalf("image index: schemaVersion %d, mediaType %q", idx.SchemaVersion, idx.MediaType)
	}
	return d, idx
}

// readImage reads the image of the index for p, with its layers' entries.
func readImage(t *testing.T, dir string, idx index, p platform) *ociImage {
	t.Helper()
	var md *descriptor
	for i, m := range idx.Manifests {
		if m.Platform != nil && *m.Platform == p {
			if md != nil {
				t.Fatalf("two manifests for %v", p)
			}
			md = &idx.Manifests[i]
		}
	}
	if md == nil {
		t.Fatalf("no manifest for %v in %+v", p, idx.Manifests)
	}
	if md.MediaType != mtOCIManifest {
		t.Fatalf("manifest media type %q", md.MediaType)
	}
	img := &ociImage{Digest: md.Digest}
	decodeJSON(t, "manifest", readBlob(t, dir, *md), &img.Manifest)
	if img.Manifest.SchemaVersion != 2 || img.Manifest.MediaType != mtOCIManifest || img.Manifest.Config.MediaType != mtOCIConfig {
		t.Fatalf("manifest: %+v", img.Manifest)
	}
	img.ConfigDigest = img.Manifest.Config.Digest
	decodeJSON(t, "config", readBlob(t, dir, img.Manifest.Config), &img.Config)
	if len(img.Config.RootFS.DiffIDs) != len(img.Manifest.Layers) || img.Config.RootFS.Type != "layers" {
		t.Fatalf("config rootfs %+v for %d layers", img.Config.RootFS, len(img.Manifest.Layers))
	}
	for i, l := range img.Manifest.Layers {
		if l.MediaType != mtOCILayer {
			t.Fatalf("layer %d media type %q", i, l.MediaType)
		}
		blob := readBlob(t, dir, l)
		img.CompressedLayers = append(img.CompressedLayers, blob)
		img.Layers = append(img.Layers, readLayer(t, blob, img.Config.RootFS.DiffIDs[i]))
	}
	return img
}

// readLayer gunzips and untars a layer and checks its diff ID.
func readLayer(t *testing.T, blob []byte, diffID string) []entry {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatalf("layer: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("layer: %v", err)
	}
	if got := "sha256:" + sha256Hex(raw); got != diffID {
		t.Fatalf("layer diff ID %s, config says %s", got, diffID)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	var out []entry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("layer tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("layer tar %s: %v", h.Name, err)
		}
		out = append(out, entry{Name: h.Name, Type: h.Typeflag, Mode: h.Mode, UID: h.Uid, GID: h.Gid, ModTime: h.ModTime, Data: data})
	}
	return out
}

// extract writes the image's filesystem under root, applying the layers in
// order. Only directories and regular files are expected (no whiteouts,
// links or devices): anything else fails the test.
func extract(t *testing.T, img *ociImage, root string) {
	t.Helper()
	for _, layer := range img.Layers {
		for _, e := range layer {
			name := path.Clean(strings.TrimSuffix(e.Name, "/"))
			if strings.HasPrefix(name, "/") || strings.HasPrefix(name, "..") || strings.Contains(path.Base(name), ".wh.") {
				t.Fatalf("unexpected layer entry %q", e.Name)
			}
			dst := filepath.Join(root, filepath.FromSlash(name))
			switch e.Type {
			case tar.TypeDir:
				if err := os.MkdirAll(dst, os.FileMode(e.Mode).Perm()); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dst, os.FileMode(e.Mode).Perm()); err != nil {
					t.Fatal(err)
				}
			case tar.TypeReg:
				if err := os.WriteFile(dst, e.Data, os.FileMode(e.Mode).Perm()); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dst, os.FileMode(e.Mode).Perm()); err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatalf("layer entry %q has tar type %q: only directories and regular files are expected", e.Name, e.Type)
			}
		}
	}
}

// files returns the image's regular files by path (no leading slash),
// later layers overriding earlier ones.
func (img *ociImage) files() map[string]entry {
	out := map[string]entry{}
	for _, layer := range img.Layers {
		for _, e := range layer {
			if e.Type == tar.TypeReg {
				out[path.Clean(e.Name)] = e
			}
		}
	}
	return out
}
