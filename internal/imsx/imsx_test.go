package imsx_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/learnerrecords/clr-operator/internal/imsx"
	"github.com/learnerrecords/clr-operator/internal/sharedclr"
)

// sharedDir is ../shared/clr next to the repository root.
func sharedDir(t *testing.T) string {
	t.Helper()
	return sharedclr.Dir(t)
}

func statusInfoSchema(t *testing.T) (*jsonschema.Schema, map[string]any) {
	t.Helper()
	return sharedclr.Schema(t, "schemas/clr_v2p0/clr_v2p0_imsx_statusinfo_schema.json")
}

// allCodes are every constant of the package.
var allCodes = []imsx.CodeMinor{imsx.Forbidden, imsx.FullSuccess, imsx.InternalServerError, imsx.InvalidData,
	imsx.InvalidQueryParameter, imsx.MisdirectedRequest, imsx.NotAcceptable, imsx.NotAllowed, imsx.NotFound,
	imsx.NotModified, imsx.ServerBusy, imsx.UnauthorizedRequest, imsx.Unknown}

func TestConstantsAreTheSchemaEnumeration(t *testing.T) {
	_, doc := statusInfoSchema(t)
	field := doc["$defs"].(map[string]any)["Imsx_CodeMinorField"].(map[string]any)
	enum := field["properties"].(map[string]any)["imsx_codeMinorFieldValue"].(map[string]any)["enum"].([]any)
	var want []string
	for _, v := range enum {
		want = append(want, v.(string))
	}
	var got []string
	for _, c := range allCodes {
		if !c.Valid() {
			t.Errorf("%q reports invalid", c)
		}
		got = append(got, string(c))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("constants %v, schema enumeration %v", got, want)
	}
	if imsx.CodeMinor("bad_request").Valid() {
		t.Fatal("a value outside the enumeration reports valid")
	}
}

func TestWriteIsSchemaValid(t *testing.T) {
	schema, _ := statusInfoSchema(t)
	cases := []struct {
		status int
		code   imsx.CodeMinor
		want   imsx.CodeMinor
	}{
		{http.StatusBadRequest, imsx.InvalidData, imsx.InvalidData},
		{http.StatusUnauthorized, imsx.UnauthorizedRequest, imsx.UnauthorizedRequest},
		{http.StatusNotFound, imsx.NotFound, imsx.NotFound},
		{http.StatusTooManyRequests, imsx.ServerBusy, imsx.ServerBusy},
		// An invalid code falls back to the status's natural one.
		{http.StatusForbidden, imsx.CodeMinor("nope"), imsx.Forbidden},
		{http.StatusInternalServerError, "", imsx.InternalServerError},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		imsx.Write(rec, tc.status, tc.code, "something was wrong")
		if rec.Code != tc.status {
			t.Errorf("status %d, want %d", rec.Code, tc.status)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatalf("body is not JSON: %v", err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Fatalf("body does not match Imsx_StatusInfo: %v\n%s", err, rec.Body.Bytes())
		}
		var si imsx.StatusInfo
		if err := json.Unmarshal(rec.Body.Bytes(), &si); err != nil {
			t.Fatal(err)
		}
		if si.CodeMajor != "failure" || si.Severity != "error" || si.Description != "something was wrong" ||
			si.CodeMinor.Fields[0].Value != tc.want {
			t.Errorf("body %s: want code minor %s", rec.Body.Bytes(), tc.want)
		}
	}
}

func TestForStatusIsAlwaysValid(t *testing.T) {
	for status := 100; status < 600; status++ {
		if c := imsx.ForStatus(status); !c.Valid() {
			t.Fatalf("ForStatus(%d) = %q, not an allowed value", status, c)
		}
	}
}
