package dataintegrity

import (
	"reflect"
	"sort"
)

func mapID(m map[string]any) uintptr { return reflect.ValueOf(m).Pointer() }

func sortStrings(s []string) { sort.Strings(s) }
