package crd

import (
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestCRDsInstall checks what kubectl users rely on: the CRDs are
// established, in the clr category, with their short names, a status
// subresource and the printer columns.
func TestCRDsInstall(t *testing.T) {
	want := []struct {
		name       string
		kind       string
		shortNames []string
		columns    []string
	}{
		{"issuers.clr.learnerrecords.io", "Issuer", []string{"clrissuer"}, []string{"Ready", "Reason", "Institution", "Algorithm", "Key", "Age"}},
		{"frameworks.clr.learnerrecords.io", "Framework", []string{"clrframework", "clrfw"}, []string{"Ready", "Reason", "Title", "Version", "Competencies", "Age"}},
		{"clrproviders.clr.learnerrecords.io", "CLRProvider", []string{"clrp", "clrprovider"}, []string{"Ready", "Reason", "URL", "Ready-Replicas", "Key", "Age"}},
	}
	for _, w := range want {
		t.Run(w.kind, func(t *testing.T) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := k8s.Get(ctx(t), client.ObjectKey{Name: w.name}, crd); err != nil {
				t.Fatalf("CRD %s: %v", w.name, err)
			}
			established := false
			for _, c := range crd.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					established = true
				}
			}
			if !established {
				t.Errorf("CRD %s is not Established: %+v", w.name, crd.Status.Conditions)
			}
			if crd.Spec.Names.Kind != w.kind {
				t.Errorf("kind %q, want %q", crd.Spec.Names.Kind, w.kind)
			}
			if !slices.Contains(crd.Spec.Names.Categories, "clr") {
				t.Errorf("categories %v lack clr", crd.Spec.Names.Categories)
			}
			for _, s := range w.shortNames {
				if !slices.Contains(crd.Spec.Names.ShortNames, s) {
					t.Errorf("short names %v lack %s", crd.Spec.Names.ShortNames, s)
				}
			}
			if slices.Contains(crd.Spec.Names.ShortNames, "issuer") {
				t.Errorf("short name issuer collides with cert-manager's Issuer")
			}
			if len(crd.Spec.Versions) != 1 {
				t.Fatalf("%d versions, want v1alpha1 only", len(crd.Spec.Versions))
			}
			v := crd.Spec.Versions[0]
			if v.Name != "v1alpha1" || !v.Served || !v.Storage {
				t.Errorf("version %s served=%v storage=%v", v.Name, v.Served, v.Storage)
			}
			if v.Subresources == nil || v.Subresources.Status == nil {
				t.Errorf("no status subresource")
			}
			var cols []string
			for _, c := range v.AdditionalPrinterColumns {
				cols = append(cols, c.Name)
			}
			for _, c := range w.columns {
				if !slices.Contains(cols, c) {
					t.Errorf("printer columns %v lack %s", cols, c)
				}
			}
		})
	}
}
