package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// applyObject writes a built child with server-side apply under the
// operator's single field manager, taking ownership of every field it sets
// (so a human's edit of one of them is reverted) and leaving other fields to
// their managers. An apply whose result equals the stored object is a no-op
// in the apiserver: the resourceVersion does not change and nothing is
// written to etcd, which is what keeps a converged operator silent.
func applyObject(ctx context.Context, c client.Client, scheme *runtime.Scheme, obj client.Object) error {
	u, err := toApplyUnstructured(scheme, obj)
	if err != nil {
		return err
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
}

// toApplyUnstructured converts a typed object into the apply configuration:
// the fields it sets, without status and without the null values (such as
// the zero creationTimestamp of every ObjectMeta) that typed structs carry.
func toApplyUnstructured(scheme *runtime.Scheme, obj client.Object) (*unstructured.Unstructured, error) {
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil {
		return nil, fmt.Errorf("kind of %T: %w", obj, err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	delete(m, "status")
	pruneNulls(m)
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

// pruneNulls removes null values from a JSON object tree in place.
func pruneNulls(m map[string]any) {
	for k, v := range m {
		switch t := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			pruneNulls(t)
		case []any:
			for _, e := range t {
				if em, ok := e.(map[string]any); ok {
					pruneNulls(em)
				}
			}
		}
	}
}

// AnnotationAppliedHash records, on each child, the hash of the
// configuration the operator last applied to it.
const AnnotationAppliedHash = "clr.learnerrecords.io/applied-hash"

// ensureApplied applies obj unless the cached child already holds it: the
// child carries the hash of this very configuration (so no field the
// operator used to set has been dropped since) and every field of the
// configuration has its value in the child (so nobody edited one). A
// converged operator then sends nothing at all, not even no-op applies,
// which matters when thousands of tenants are reconciled after a restart.
//
// On success obj holds the stored object, status included: the cached one,
// or the apply response when it was written, so that the caller needs no
// second read (nor a second reconcile once the cache catches up).
func ensureApplied(ctx context.Context, c client.Client, scheme *runtime.Scheme, obj client.Object) error {
	desired, err := toApplyUnstructured(scheme, obj)
	if err != nil {
		return err
	}
	hash, err := configHash(desired)
	if err != nil {
		return err
	}
	ann := desired.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AnnotationAppliedHash] = hash
	desired.SetAnnotations(ann)

	live, err := scheme.New(desired.GroupVersionKind())
	if err != nil {
		return fmt.Errorf("kind %s: %w", desired.GroupVersionKind(), err)
	}
	liveObj, ok := live.(client.Object)
	if !ok {
		return fmt.Errorf("kind %s is not an object", desired.GroupVersionKind())
	}
	switch err := c.Get(ctx, client.ObjectKeyFromObject(obj), liveObj); {
	case err == nil:
		if liveObj.GetAnnotations()[AnnotationAppliedHash] == hash {
			liveMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(liveObj)
			if err != nil {
				return err
			}
			// Typed objects from the cache carry no apiVersion and kind.
			liveMap["apiVersion"], liveMap["kind"] = desired.GetAPIVersion(), desired.GetKind()
			if isSubset(desired.Object, liveMap) {
				return assignObject(obj, liveObj)
			}
		}
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("reading %s %s: %w", desired.GetKind(), obj.GetName(), err)
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(desired), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", desired.GetKind(), desired.GetNamespace(), desired.GetName(), err)
	}
	// desired now holds the apply response.
	stored, err := scheme.New(desired.GroupVersionKind())
	if err != nil {
		return fmt.Errorf("kind %s: %w", desired.GroupVersionKind(), err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(desired.Object, stored); err != nil {
		return fmt.Errorf("reading the applied %s %s: %w", desired.GetKind(), desired.GetName(), err)
	}
	storedObj, ok := stored.(client.Object)
	if !ok {
		return fmt.Errorf("kind %s is not an object", desired.GroupVersionKind())
	}
	return assignObject(obj, storedObj)
}

// assignObject copies src into dst, two objects of the same Go type.
func assignObject(dst, src client.Object) error {
	d, s := reflect.ValueOf(dst), reflect.ValueOf(src)
	if d.Type() != s.Type() || d.Kind() != reflect.Pointer {
		return fmt.Errorf("cannot copy a %T into a %T", src, dst)
	}
	d.Elem().Set(s.Elem())
	return nil
}

// configHash is a short SHA-256 of an apply configuration.
func configHash(u *unstructured.Unstructured) (string, error) {
	raw, err := json.Marshal(u.Object) // map keys are sorted: stable
	if err != nil {
		return "", fmt.Errorf("hashing %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])[:20], nil
}

// isSubset reports whether every field of want has the same value in have.
// Lists must have the same length and match element by element (the
// apiserver adds defaults inside elements, never elements).
func isSubset(want, have any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			hv, ok := h[k]
			if !ok {
				if isEmptyValue(wv) {
					continue
				}
				return false
			}
			if !isSubset(wv, hv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for i := range w {
			if !isSubset(w[i], h[i]) {
				return false
			}
		}
		return true
	default:
		return fmt.Sprint(want) == fmt.Sprint(have)
	}
}

// isEmptyValue: an empty map or list in the configuration matches an
// absent field (the apiserver drops empty objects such as emptyDir: {}
// only when they are optional; both spellings mean the same).
func isEmptyValue(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}
