package clrapi

// CachedPages is the number of pages in a's GET credentials cache (-1:
// no cache), for the tests of package clrapi_test.
func CachedPages(a *API) int {
	if a.pages == nil {
		return -1
	}
	return a.pages.len()
}
